/* The deck page's slide made to fit reveal.js's canvas (docs/web.md, "The deck page's slide"),
   and the page kept at its top once reveal.js presents. Loaded before deck.js; it hooks
   reveal.js's own events, and deck.js calls KbFit.current() when a piece of a big deck fills
   the slide on screen. */
(function () {
  "use strict";
  if (typeof Reveal === "undefined" || !document.getElementById("kb-slides")) return;

  /* Wide and tall content in the slide:
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

  /* reveal.js queues handlers set before it starts */
  Reveal.on("ready", function () { fitCurrent(); unscroll(); });
  Reveal.on("slidechanged", fitCurrent);
  window.KbFit = { current: fitCurrent };
})();
