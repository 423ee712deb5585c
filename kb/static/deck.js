/* The deck page: reveal.js presents the server-rendered slides; kb adds what reveal.js
   lacks — the words of the query marked, the match bar, copy link, and slides of big decks
   fetched in pieces. Without script the page is every sent slide in order (the
   `#/h/v` anchors scroll to them), because the `reveal` class is only added here. */
(function () {
  "use strict";
  var deck = document.getElementById("kb-deck");
  var box = document.getElementById("kb-slides");
  if (!deck || !box || typeof Reveal === "undefined") return;

  /* Styles the deck set travel as data-style: the page's CSP refuses style attributes,
     the CSSOM is allowed. */
  function applyStyles(root) {
    root.querySelectorAll("[data-style]").forEach(function (el) { el.style.cssText = el.getAttribute("data-style"); });
  }

  /* ------------------------------------------------------------ marking the query's words */
  function fold(word) { return word.toLowerCase().normalize("NFD").replace(/\p{M}/gu, ""); }
  var words = new Set(), prefixes = [];
  try {
    JSON.parse(deck.getAttribute("data-terms") || "[]").forEach(function (w) { words.add(fold(w)); });
    prefixes = JSON.parse(deck.getAttribute("data-prefixes") || "[]").map(fold);
  } catch (e) { /* nothing to mark */ }
  /* The slides that are hits of the query (the server counts them as the results page did):
     words are marked on those slides only. */
  var hitAnchors = null;
  try {
    if (deck.hasAttribute("data-hits")) hitAnchors = new Set(JSON.parse(deck.getAttribute("data-hits")));
  } catch (e) { hitAnchors = null; }
  function isHit(section) {
    var anchor = section.querySelector(":scope > .kb-anchor");
    return !hitAnchors || (anchor && hitAnchors.has(anchor.id.replace(/^\//, "")));
  }
  var WORD = /[\p{L}\p{N}\p{M}]+/gu;

  function matches(word) {
    var key = fold(word);
    if (words.has(key)) return true;
    for (var i = 0; i < prefixes.length; i++) if (key.indexOf(prefixes[i]) === 0) return true;
    return false;
  }

  function markIn(root) {
    if (!words.size && !prefixes.length) return 0;
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentNode;
        if (!parent || /^(SCRIPT|STYLE|TEXTAREA|MARK)$/.test(parent.nodeName) || parent.closest("aside.notes")) return NodeFilter.FILTER_REJECT;
        return node.nodeValue.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
      }
    });
    var nodes = [], count = 0;
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (node) {
      var text = node.nodeValue, pieces = [], last = 0, m;
      WORD.lastIndex = 0;
      while ((m = WORD.exec(text)) !== null) {
        if (!matches(m[0])) continue;
        if (m.index > last) pieces.push(document.createTextNode(text.slice(last, m.index)));
        var mark = document.createElement("mark");
        mark.className = "kb-hl";
        mark.textContent = m[0];
        pieces.push(mark);
        last = m.index + m[0].length;
        count++;
      }
      if (!pieces.length) return;
      if (last < text.length) pieces.push(document.createTextNode(text.slice(last)));
      var fragment = document.createDocumentFragment();
      pieces.forEach(function (p) { fragment.appendChild(p); });
      node.parentNode.replaceChild(fragment, node);
    });
    if (count) root.classList.add("kb-has-marks");
    return count;
  }

  function prepare(section) {
    applyStyles(section);
    if (isHit(section)) markIn(section);
  }

  /* ------------------------------------------------------------ big decks: pieces on demand */
  /* Slides not sent whole are bare <section>s (no data-kb): reveal.js counts them, and the
     page asks for the piece of 40 slides around the one shown. */
  var pending = {};
  /* Every slide in order, as kb numbers them (data-kb positions). Not Reveal.getSlides():
     that leaves out the slides marked data-visibility="uncounted". */
  function allSlides() {
    var all = [];
    box.querySelectorAll(".slides > section").forEach(function (h) {
      var stack = h.querySelectorAll(":scope > section");
      if (!stack.length) all.push(h);
      else stack.forEach(function (v) { all.push(v); });
    });
    return all;
  }
  var count = Number(deck.dataset.count);
  function isEmpty(section) { return section && !section.hasAttribute("data-kb"); }

  function fill(slides) {
    var all = allSlides();
    slides.forEach(function (s) {
      var section = all[s.position];
      if (!isEmpty(section)) return;
      section.innerHTML = '<span class="kb-anchor" id="/' + s.anchor + '"></span>' + s.html +
        (s.notes_html ? '<aside class="notes">' + s.notes_html + "</aside>" : "");
      section.setAttribute("data-kb", String(s.position));
      prepare(section);
    });
    Reveal.sync();
    countMatches();
    if (window.KbFit) KbFit.current();  /* deck-fit.js */
  }

  function ensure(position) {
    if (big) return;  /* a big deck's window came whole */
    var all = allSlides();
    var piece = Math.floor(Math.max(0, position - 10) / 40) * 40;
    [piece, piece + 40].forEach(function (from) {
      if (from >= count || pending[from]) return;
      if (!isEmpty(all[from]) && !isEmpty(all[Math.min(from + 39, count - 1)])) return;
      pending[from] = true;
      var url = deck.dataset.pieces + "?from=" + from + (deck.dataset.q ? "&q=" + encodeURIComponent(deck.dataset.q) : "");
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { slides: [] }; })
        .then(function (data) { fill(data.slides || []); })
        .catch(function () { pending[from] = false; });
    });
  }

  function positionOf(slide) { return allSlides().indexOf(slide); }

  /* ------------------------------------------------------------ big decks: a window at a time */
  /* A big deck's page holds only a window of its slides (BIG_DECK in kb/web/deck_views.py):
     reveal.js's indices are the window's; the address bar, the slide numbers and the links
     are the deck's. A `#/h/v` outside the window, or a step past its ends (the `kb-more`
     slides), loads the window that has it. */
  /* (The speaker view's previews load this page with `?receiver` and reveal.js's own,
     window-local `#/h/v`: there reveal.js keeps its hash.) */
  var big = deck.hasAttribute("data-big") && !/[?&]receiver\b/.test(location.search);
  var starts = [];  /* the position of each stack's first slide */
  var named = {};
  if (big) {
    deck.dataset.stacks.split(",").reduce(function (at, n) { starts.push(at); return at + Number(n); }, 0);
    try { named = JSON.parse(deck.dataset.named || "{}"); } catch (e) { named = {}; }
  }
  function anchorOf(section) {
    var a = section && section.querySelector(":scope > .kb-anchor");
    return a ? a.id.slice(1) : null;
  }
  function target(hash) {  /* "#/h/v/f" or "#/id" → {anchor, position, f} */
    var parts;
    try { parts = decodeURIComponent((hash || "").replace(/^#\/?/, "")).split("/"); } catch (e) { return null; }
    if (parts[0] && !/^\d+$/.test(parts[0])) {  /* a named slide, maybe with a fragment */
      var f = parts[1];
      if (!named[parts[0]]) return null;
      parts = named[parts[0]].split("/").concat(["0"]).slice(0, 2).concat(f === undefined ? [] : [f]);
    }
    var h = Number(parts[0] || 0), v = Number(parts[1] || 0);
    if (h >= starts.length) return null;
    return { anchor: v ? h + "/" + v : String(h), position: starts[h] + v, f: parts[2] };
  }
  function windowWith(t) {
    var base = deck.dataset.from;
    return base + (base.indexOf("?") < 0 ? "?" : "&") + "from=" + t.position + "#/" + t.anchor + (t.f !== undefined ? "/" + t.f : "");
  }
  function goTo(hash) {  /* true when it moves the page to another window */
    var t = target(hash || "#/0");
    if (!t) return false;
    var el = document.getElementById("/" + t.anchor);
    if (!el) { location.replace(windowWith(t)); return true; }
    if (Reveal.isReady()) {
      var at = Reveal.getIndices(el.parentNode);
      Reveal.slide(at.h, at.v, t.f !== undefined ? Number(t.f) : undefined);
    }
    return false;
  }
  function showHash() {
    var slide = Reveal.getCurrentSlide();
    if (slide.classList.contains("kb-more")) { location.replace(slide.dataset.to); return; }
    var f = Reveal.getIndices().f;
    history.replaceState(history.state, "", "#/" + anchorOf(slide) + (typeof f === "number" && f >= 0 ? "/" + f : ""));
  }
  function deckNumber(slide) {  /* reveal.js's "h/v", counted over the whole deck */
    var a = (anchorOf(slide) || "").split("/");
    if (!a[0]) return [""];
    return a.length > 1 ? [Number(a[0]) + 1, "/", Number(a[1]) + 1] : [Number(a[0]) + 1];
  }

  /* ------------------------------------------------------------ match bar and copy link */
  var nextMatch = document.getElementById("kb-next-match");
  var status = document.getElementById("kb-match-status");
  function countMatches() {
    if (!status) return;
    var marks = box.querySelectorAll("mark.kb-hl").length;
    var slides = box.querySelectorAll("section.kb-has-marks").length;
    /* with hits, the server's sentence already says how many are on this deck */
    if (marks && !hitAnchors) status.textContent = marks + " match" + (marks === 1 ? "" : "es") + " on " + slides + " slide" + (slides === 1 ? "" : "s") + " of this deck.";
    if (nextMatch) nextMatch.hidden = !marks;
  }
  if (nextMatch) nextMatch.addEventListener("click", function () {
    if (big && hitAnchors) {  /* the hits of the whole deck, in order */
      var hits = Array.from(hitAnchors).map(function (a) { return target("#/" + a); }).filter(Boolean)
        .sort(function (a, b) { return a.position - b.position; });
      var now = target("#/" + anchorOf(Reveal.getCurrentSlide()));
      var after = hits.find(function (t) { return now && t.position > now.position; }) || hits[0];
      if (after) goTo("#/" + after.anchor);
      return;
    }
    var all = allSlides().filter(function (s) { return s.classList.contains("kb-has-marks"); });
    if (!all.length) return;
    var here = positionOf(Reveal.getCurrentSlide());
    var next = all.find(function (s) { return positionOf(s) > here; }) || all[0];
    var at = Reveal.getIndices(next);
    Reveal.slide(at.h, at.v);
  });

  var clear = document.getElementById("kb-clear");
  if (clear) clear.addEventListener("click", function (event) {  /* stay on this slide */
    event.preventDefault();
    location.href = clear.getAttribute("href") + location.hash;
  });

  var copy = document.getElementById("kb-copy-link");
  var copied = document.getElementById("kb-copied");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var url = location.href;
      navigator.clipboard.writeText(url).then(function () { copied.textContent = "Copied " + location.hash; },
        function () { copied.textContent = url; });
    });
  }

  /* ------------------------------------------------------------ speaker view under the CSP
     reveal's notes plugin writes its speaker page (inline script) into about:blank, which
     the CSP would stop; it opens kb's copy of that page instead (split into files). */
  var open = window.open;
  window.open = function (url, name, features) {
    if (url === "about:blank" && name === "reveal.js - Notes") {
      var win = open.call(window, deck.dataset.speaker, name, features);
      if (!win) return win;
      return new Proxy(win, {
        get: function (target, prop) {
          if (prop === "document") return { write: function () {} };
          var value = target[prop];
          return typeof value === "function" ? value.bind(target) : value;
        },
        set: function (target, prop, value) { target[prop] = value; return true; }
      });
    }
    return open.apply(window, arguments);
  };

  /* ------------------------------------------------------------ reveal.js */
  box.classList.add("reveal");
  document.body.classList.add("kb-presenting");
  box.querySelectorAll("section[data-kb]").forEach(prepare);
  if (big && location.hash && goTo(location.hash)) return;  /* its window is another page */
  Reveal.initialize({
    embedded: true, hash: !big, respondToHashChanges: !big, history: false,
    slideNumber: big ? deckNumber : "h/v", showSlideNumber: "all", controls: true, progress: true,
    center: true, width: 960, height: 700, margin: 0.04, transition: "none",
    scrollActivationWidth: null,  /* a phone gets the slide canvas too, not the scroll view */
    plugins: [RevealNotes]
  }).then(function () {
    if (big) {
      if (location.hash) goTo(location.hash);
      ["slidechanged", "fragmentshown", "fragmenthidden"].forEach(function (e) { Reveal.on(e, showHash); });
      window.addEventListener("hashchange", function () { goTo(location.hash); });
    }
    countMatches();
    ensure(positionOf(Reveal.getCurrentSlide()));
    box.focus({ preventScroll: true });
  });
  Reveal.on("slidechanged", function (event) { ensure(positionOf(event.currentSlide)); });

  /* The slide list links a slide this page did not send with the `?from=` page that has it
     (for a reader without script); here reveal.js moves there and the piece comes instead. */
  document.querySelectorAll(".kb-toc a[data-anchor]").forEach(function (a) {
    a.addEventListener("click", function (event) {
      event.preventDefault();
      location.hash = "#/" + a.dataset.anchor;
      /* on a phone the list is below the slide: bring the slide back into view */
      var top = box.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight / 2) box.scrollIntoView({ block: "start" });
    });
  });
})();
