/* kb deck viewer: a small reveal.js-like presenter over the server-rendered slide list.
 *
 * - `#/h/v` (0-based, `#/h` means v = 0, exactly reveal.js's hash) shows that slide at once;
 *   changing the hash moves to the slide; ←/→ move between stacks, ↑/↓ inside a stack,
 *   Space/PageDown/PageUp go through every slide in order, Home/End to the ends.
 * - `?q=…` marks the query's words (as the search matched them: the server sends the list
 *   of words of this deck that match, plus `word*` prefixes) with <mark>, in text nodes
 *   only; "Clear highlighting" removes them.
 * - Each slide's "Link to slide" copies its deep link.
 * Without JavaScript the page lists every slide, and `#/h/v` scrolls to it (each slide's
 * id is "/h/v"). */
(function () {
  "use strict";

  var deck = document.getElementById("deck");
  if (!deck) return;
  var wraps = Array.prototype.slice.call(deck.querySelectorAll(".slide-wrap"));
  if (!wraps.length) return;

  var bar = document.getElementById("viewer-bar");
  var position = document.getElementById("position");
  var missing = document.getElementById("slide-missing");
  var toggleAll = document.getElementById("toggle-all");
  var toc = document.getElementById("toc");

  /* stacks[h] = list of wraps in vertical order; order = every slide, reading order */
  var stacks = {};
  var hs = [];
  wraps.forEach(function (wrap) {
    var h = parseInt(wrap.getAttribute("data-h"), 10);
    var v = parseInt(wrap.getAttribute("data-v"), 10);
    wrap._h = h;
    wrap._v = v;
    if (!stacks[h]) { stacks[h] = []; hs.push(h); }
    stacks[h].push(wrap);
    /* The id "/h/v" serves deep links without JavaScript; here the viewer handles the
       hash, so the browser must not also scroll to it. */
    wrap.setAttribute("data-id", wrap.id);
    wrap.removeAttribute("id");
  });
  hs.sort(function (a, b) { return a - b; });
  hs.forEach(function (h) { stacks[h].sort(function (a, b) { return a._v - b._v; }); });
  var order = [];
  hs.forEach(function (h) { order = order.concat(stacks[h]); });

  var current = null;
  var showAll = false;

  function anchorOf(wrap) {
    return wrap._v === 0 ? String(wrap._h) : wrap._h + "/" + wrap._v;
  }

  function find(h, v) {
    var stack = stacks[h];
    if (!stack) return null;
    for (var i = 0; i < stack.length; i++) if (stack[i]._v === v) return stack[i];
    return null;
  }

  /* "#/2/1" → [2, 1]; "#/2" → [2, 0]; anything else → null */
  function parseHash(hash) {
    var m = /^#\/(\d+)(?:\/(\d+))?\/?$/.exec(hash || "");
    if (!m) return null;
    return [parseInt(m[1], 10), m[2] === undefined ? 0 : parseInt(m[2], 10)];
  }

  function setHash(wrap) {
    var hash = "#/" + anchorOf(wrap);
    if (location.hash !== hash) {
      history.replaceState(history.state, "", location.pathname + location.search + hash);
    }
  }

  function show(wrap, updateHash) {
    if (!wrap) return;
    if (current) {
      current.classList.remove("current");
      current.removeAttribute("aria-current");
    }
    current = wrap;
    wrap.classList.add("current");
    wrap.setAttribute("aria-current", "true");
    if (updateHash) setHash(wrap);
    var stack = stacks[wrap._h];
    var index = order.indexOf(wrap);
    var hIndex = hs.indexOf(wrap._h);
    position.textContent = "Slide #/" + anchorOf(wrap) + " · " + (index + 1) + " of " + order.length +
      (stack.length > 1 ? " · " + (stack.indexOf(wrap) + 1) + " of " + stack.length + " in this stack" : "");
    setDisabled("left", hIndex <= 0);
    setDisabled("right", hIndex >= hs.length - 1);
    setDisabled("up", stack.indexOf(wrap) <= 0);
    setDisabled("down", stack.indexOf(wrap) >= stack.length - 1);
    Array.prototype.forEach.call(deck.querySelectorAll(".toc a[data-anchor]"), function (a) {
      if (a.getAttribute("data-anchor") === anchorOf(wrap)) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
    if (showAll) wrap.scrollIntoView({ block: "start" });
  }

  function setDisabled(direction, disabled) {
    var button = bar.querySelector('[data-go="' + direction + '"]');
    if (button) button.disabled = disabled;
  }

  function go(direction) {
    if (!current) return;
    var h = current._h;
    var stack = stacks[h];
    var hIndex = hs.indexOf(h);
    var vIndex = stack.indexOf(current);
    var target = null;
    if (direction === "left" && hIndex > 0) target = stacks[hs[hIndex - 1]][0];
    else if (direction === "right" && hIndex < hs.length - 1) target = stacks[hs[hIndex + 1]][0];
    else if (direction === "up" && vIndex > 0) target = stack[vIndex - 1];
    else if (direction === "down" && vIndex < stack.length - 1) target = stack[vIndex + 1];
    else if (direction === "next") target = order[order.indexOf(current) + 1] || null;
    else if (direction === "prev") target = order[order.indexOf(current) - 1] || null;
    else if (direction === "first") target = order[0];
    else if (direction === "last") target = order[order.length - 1];
    if (target) {
      missing.hidden = true;
      show(target, true);
    }
  }

  function fromHash() {
    var hash = location.hash;
    var pos = parseHash(hash);
    var wrap = pos ? find(pos[0], pos[1]) : null;
    if (wrap) {
      missing.hidden = true;
      show(wrap, false);
      return;
    }
    if (hash && hash !== "#" && hash !== "#/") {
      var fallback = pos && stacks[pos[0]] ? stacks[pos[0]][0] : order[0];
      missing.textContent = "This deck has no slide " + hash.slice(1) + "; showing slide #/" +
        anchorOf(fallback) + " instead.";
      missing.hidden = false;
      show(fallback, false);
    } else {
      show(current || order[0], false);
    }
  }

  /* ------------------------------------------------------------ highlighting */
  function fold(word) {
    return word.toLowerCase().normalize("NFD").replace(/\p{M}/gu, "");
  }

  var words = new Set();
  var prefixes = [];
  try {
    JSON.parse(deck.getAttribute("data-terms") || "[]").forEach(function (w) { words.add(fold(w)); });
    prefixes = JSON.parse(deck.getAttribute("data-prefixes") || "[]").map(fold);
  } catch (e) { /* nothing to mark */ }
  /* Without a word list from the server (it always sends one), fall back to the query's
     own words: case-insensitive, as prefixes of at least three letters. */
  var query = new URLSearchParams(location.search).get("q") || "";
  if (!deck.hasAttribute("data-terms") && query) {
    (query.match(/[\p{L}\p{N}]+/gu) || []).forEach(function (w) {
      if (w.length >= 3 && !/^(AND|OR|NOT)$/.test(w)) prefixes.push(fold(w));
    });
  }

  /* The slides that are hits of the query (the server counts them as the results page did):
     words are marked on those slides only. */
  var hitAnchors = null;
  try {
    if (deck.hasAttribute("data-hits")) hitAnchors = new Set(JSON.parse(deck.getAttribute("data-hits")));
  } catch (e) { hitAnchors = null; }

  var WORD = /[\p{L}\p{N}\p{M}]+/gu;

  function matches(word) {
    var key = fold(word);
    if (words.has(key)) return true;
    for (var i = 0; i < prefixes.length; i++) if (key.indexOf(prefixes[i]) === 0) return true;
    return false;
  }

  function markIn(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentNode;
        if (!parent || /^(SCRIPT|STYLE|TEXTAREA|MARK)$/.test(parent.nodeName)) return NodeFilter.FILTER_REJECT;
        return node.nodeValue.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
      }
    });
    var nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    var count = 0;
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      var pieces = [];
      var last = 0;
      var m;
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
    return count;
  }

  function highlight() {
    if (!words.size && !prefixes.length) return;
    var total = 0;
    var slidesHit = 0;
    wraps.forEach(function (wrap) {
      if (hitAnchors && !hitAnchors.has(anchorOf(wrap))) return;
      var n = 0;
      wrap.querySelectorAll(".slide, .notes-body, .ocr-body").forEach(function (part) { n += markIn(part); });
      if (n) {
        slidesHit++;
        wrap.classList.add("has-marks");
        var a = deck.querySelector('.toc a[data-anchor="' + anchorOf(wrap) + '"]');
        if (a) a.classList.add("has-marks");
        /* matches only in the notes or the OCR text: open them so the reader sees them */
        wrap.querySelectorAll("details").forEach(function (d) {
          if (d.querySelector("mark.kb-hl")) d.open = true;
        });
      }
      total += n;
    });
    var next = document.getElementById("next-match");
    if (next) next.hidden = slidesHit < 1;
    var status = document.getElementById("highlight-status");
    if (status && !hitAnchors) {  /* with hits, the server's sentence already says it */
      status.textContent = total
        ? total + " match" + (total === 1 ? "" : "es") + " of “" + query + "” marked on " + slidesHit +
          " slide" + (slidesHit === 1 ? "" : "s") + "."
        : "No words of “" + query + "” appear as text on these slides (the match may be in an image).";
    }
  }

  function clearHighlight(event) {
    if (event) event.preventDefault();
    Array.prototype.forEach.call(deck.querySelectorAll("mark.kb-hl"), function (mark) {
      var parent = mark.parentNode;
      parent.replaceChild(document.createTextNode(mark.textContent), mark);
      parent.normalize();
    });
    deck.querySelectorAll(".has-marks").forEach(function (n) { n.classList.remove("has-marks"); });
    words = new Set();
    prefixes = [];
    var barNotice = document.getElementById("highlight-bar");
    if (barNotice) barNotice.hidden = true;
    history.replaceState(history.state, "", location.pathname + location.hash);
  }

  /* ------------------------------------------------------------ copy links */
  function copyLink(event) {
    var a = event.currentTarget;
    var url = new URL(a.getAttribute("data-url"), location.href).href;
    if (!navigator.clipboard || !window.isSecureContext) return;  // plain link then
    event.preventDefault();
    navigator.clipboard.writeText(url).then(function () {
      flash(a, "Link copied");
    }, function () {
      location.href = url;
    });
  }

  function flash(a, text) {
    var note = a.querySelector(".copied") || document.createElement("span");
    note.className = "copied";
    note.textContent = text;
    a.appendChild(note);
    setTimeout(function () { if (note.parentNode) note.parentNode.removeChild(note); }, 1600);
  }

  /* ------------------------------------------------------------ wiring */
  document.body.classList.add("viewer");
  bar.hidden = false;
  bar.addEventListener("click", function (event) {
    var button = event.target.closest("[data-go]");
    if (button) go(button.getAttribute("data-go"));
  });
  toggleAll.addEventListener("click", function () {
    showAll = !showAll;
    document.body.classList.toggle("show-all", showAll);
    toggleAll.setAttribute("aria-pressed", String(showAll));
    toggleAll.textContent = showAll ? "One slide at a time" : "Show all slides";
    if (current) current.scrollIntoView({ block: "start" });
  });
  deck.querySelectorAll(".copy-link").forEach(function (a) { a.addEventListener("click", copyLink); });
  var nextMatch = document.getElementById("next-match");
  if (nextMatch) {
    nextMatch.addEventListener("click", function () {
      var start = order.indexOf(current);
      for (var i = 1; i <= order.length; i++) {
        var wrap = order[(start + i) % order.length];
        if (wrap.classList.contains("has-marks")) {
          missing.hidden = true;
          show(wrap, true);
          return;
        }
      }
    });
  }
  var clear = document.getElementById("clear-highlight");
  if (clear) clear.addEventListener("click", clearHighlight);
  if (toc) {
    toc.addEventListener("click", function (event) {
      var a = event.target.closest("a[data-anchor]");
      if (!a) return;
      event.preventDefault();
      var pos = parseHash("#/" + a.getAttribute("data-anchor"));
      show(find(pos[0], pos[1]), true);
      missing.hidden = true;
      if (window.matchMedia("(max-width: 60rem)").matches) toc.open = false;
    });
  }

  /* Links inside slides to other slides (`#/3`) move the viewer through the hash. */
  window.addEventListener("hashchange", fromHash);

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (/^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName) || target.isContentEditable)) {
      if (target.tagName !== "BUTTON" || !/^Arrow/.test(event.key)) return;
    }
    var keys = {
      ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down",
      PageDown: "next", PageUp: "prev", " ": "next", Home: "first", End: "last"
    };
    var direction = keys[event.key];
    if (!direction || (showAll && /^(ArrowUp|ArrowDown| |PageUp|PageDown)$/.test(event.key))) return;
    if (event.key === " " && event.shiftKey) direction = "prev";
    event.preventDefault();
    go(direction);
  });

  /* Swipes on a phone: left/right between stacks, up/down inside one. */
  var touch = null;
  var slidesBox = document.getElementById("slides");
  slidesBox.addEventListener("touchstart", function (event) {
    if (event.touches.length === 1) touch = [event.touches[0].clientX, event.touches[0].clientY];
  }, { passive: true });
  slidesBox.addEventListener("touchend", function (event) {
    if (!touch || showAll) return;
    var dx = event.changedTouches[0].clientX - touch[0];
    var dy = event.changedTouches[0].clientY - touch[1];
    touch = null;
    if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) go(dx < 0 ? "right" : "left");
  }, { passive: true });

  if (toc && window.matchMedia("(max-width: 60rem)").matches) toc.open = false;
  highlight();
  fromHash();
  window.scrollTo(0, 0);
})();
