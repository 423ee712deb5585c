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
    fitCurrent();
  }

  function ensure(position) {
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

  /* ------------------------------------------------------------ fit: wide and tall content in the slide
     reveal.js scales the whole 960×700 canvas; what is wider or taller than the canvas is cut
     off at its edge (on a phone, the stage's edge). Boxes do not show it — a display formula's
     box is the slide's width while its content runs past it — so content is measured (a
     range's rectangle, scrollWidth). A formula or a table is read as a whole, so it shrinks to
     the slide's width (down to FLOOR of its size, then it scrolls inside the slide); code is
     read line by line and already small, so it scrolls (reveal.js's own `pre code`), and
     a scroller takes the swipe from reveal.js. Images share the height the slide has left
     (reveal.js's r-stretch idea, for images inside paragraphs and columns too); text that is
     still too tall gets smaller type. */
  var FLOOR = 0.5;
  function ratio(section) {  /* screen px per canvas px (reveal.js's transform) */
    return section.getBoundingClientRect().width / (section.offsetWidth || 1) || 1;
  }
  function contentWidth(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    return Math.max(range.getBoundingClientRect().width, el.getBoundingClientRect().width * (el.scrollWidth / (el.clientWidth || el.scrollWidth || 1)));
  }
  function room(el) {  /* the width the parent gives its content, in screen px */
    var parent = el.parentElement, style = getComputedStyle(parent);
    return parent.getBoundingClientRect().width * (parent.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)) / (parent.offsetWidth || 1);
  }
  function scroller(el) {
    if (el.parentElement.classList.contains("kb-scroll")) return;
    var wrap = document.createElement("div");
    wrap.className = "kb-scroll";
    wrap.setAttribute("data-prevent-swipe", "");
    el.parentNode.insertBefore(wrap, el);
    wrap.appendChild(el);
  }
  function shrink(el, avail) {
    if (el.parentElement.classList.contains("kb-scroll")) return;
    var base = el.dataset.kbFs ? Number(el.dataset.kbFs) : parseFloat(getComputedStyle(el).fontSize);
    el.dataset.kbFs = String(base);
    for (var i = 0; i < 3; i++) {  /* padding and borders do not scale: a second look settles it */
      var wide = contentWidth(el);
      if (wide <= avail + 0.5) return;
      var size = parseFloat(getComputedStyle(el).fontSize) * avail / wide * 0.99;
      if (size < base * FLOOR) { el.style.fontSize = base * FLOOR + "px"; scroller(el); return; }
      el.style.fontSize = size + "px";
    }
  }
  function fitImages(section, height) {
    var images = [].filter.call(section.querySelectorAll("img"), function (img) { return img.offsetHeight > 0; });
    for (var i = 0; i < 4 && images.length; i++) {
      var over = section.scrollHeight - height;
      if (over <= 1) return;
      /* images side by side lose the overflow once; images one under another share it */
      var rows = new Set(images.map(function (img) { return Math.round(img.getBoundingClientRect().top); })).size;
      images.forEach(function (img) {
        img.style.maxHeight = Math.max(40, img.offsetHeight - over / rows - 1) + "px";
      });
    }
  }
  /* Text still taller than the slide (long bullets in two columns) gets smaller type, down to
     FLOOR: reading it small beats not reading its end. */
  function fitText(section, height) {
    var base = section.dataset.kbFs ? Number(section.dataset.kbFs) : parseFloat(getComputedStyle(section).fontSize);
    section.dataset.kbFs = String(base);
    for (var i = 0; i < 4 && section.scrollHeight > height + 1; i++) {
      var size = parseFloat(getComputedStyle(section).fontSize);
      if (size <= base * FLOOR) return;
      section.style.fontSize = Math.max(base * FLOOR, size * Math.sqrt(height / section.scrollHeight) * 0.98) + "px";
    }
  }
  function fit(section) {
    if (!section || !section.offsetWidth || Reveal.isOverview()) return;
    section.querySelectorAll("math[display=block], table").forEach(function (el) { shrink(el, room(el)); });
    section.querySelectorAll("pre code, .kb-scroll").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) el.setAttribute("data-prevent-swipe", "");
    });
    fitImages(section, Reveal.getConfig().height);
    fitText(section, Reveal.getConfig().height);
    section.querySelectorAll("img").forEach(function (img) {
      if (!img.complete && !img.dataset.kbFit) {
        img.dataset.kbFit = "1";
        img.addEventListener("load", function () { fit(section); Reveal.layout(); });
      }
    });
  }
  function fitCurrent() {
    var section = Reveal.getCurrentSlide();
    fit(section);
    Reveal.layout();  /* re-centre the slide at its new height */
  }

  /* The browser scrolls to the element the hash names (#/h/v is also the no-script page's
     anchor), and keeps doing so while the page loads: the presented slide's anchor ends at
     the top of the screen, the slide's top and the deck's title above it. reveal.js owns the
     hash once it presents, so the page goes back to its top unless the reader moved it. */
  var readerScrolled = false;
  ["wheel", "touchmove", "keydown"].forEach(function (type) {
    window.addEventListener(type, function () { readerScrolled = true; }, { once: true, passive: true });
  });
  function unscroll() {
    if (!readerScrolled && window.scrollY) window.scrollTo(0, 0);
  }
  window.addEventListener("load", function () { setTimeout(unscroll, 0); });

  /* ------------------------------------------------------------ reveal.js */
  box.classList.add("reveal");
  document.body.classList.add("kb-presenting");
  box.querySelectorAll("section[data-kb]").forEach(prepare);
  Reveal.initialize({
    embedded: true, hash: true, respondToHashChanges: true, history: false,
    slideNumber: "h/v", showSlideNumber: "all", controls: true, progress: true,
    center: true, width: 960, height: 700, margin: 0.04, transition: "none",
    scrollActivationWidth: null,  /* a phone gets the slide canvas too, not the scroll view */
    plugins: [RevealNotes]
  }).then(function () {
    countMatches();
    ensure(positionOf(Reveal.getCurrentSlide()));
    fitCurrent();
    box.focus({ preventScroll: true });
    unscroll();
  });
  Reveal.on("slidechanged", function (event) { ensure(positionOf(event.currentSlide)); fitCurrent(); });
})();
