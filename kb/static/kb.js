/* kb: search as you type, `/` to focus the search box, arrow keys through the hits.
 * Without JavaScript the search box is a plain GET form and every page still works.
 * Results are rendered once, on the server: while you type, the results fragment (the
 * same `_results.html` the search page includes) is fetched and swapped in. URLs come from
 * the page (the form's action and `data-*-url` attributes), never built here. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 180;

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  /* ------------------------------------------------------------ `/` focuses the box */
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var box = document.getElementById("q") || document.querySelector("[data-slash-focus]");
    if (!box) return;
    /* In another field `/` is just a character; in the (autofocused) empty search box it
       is the habit of pressing `/` to search, so it is not typed. */
    if (isTyping(document.activeElement) && !(document.activeElement === box && !box.value)) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  /* ------------------------------------------------------------ live search */
  var form = document.getElementById("search-form");
  var box = document.getElementById("q");
  var results = document.getElementById("results");
  var home = document.getElementById("home");
  var active = -1;

  function hitLinks() {
    return results ? Array.prototype.slice.call(results.querySelectorAll("#hits .hit-link")) : [];
  }

  function setActive(index) {
    var links = hitLinks();
    links.forEach(function (link) {
      link.classList.remove("active");
      link.removeAttribute("aria-selected");
    });
    if (!links.length) { active = -1; return; }
    active = Math.max(-1, Math.min(index, links.length - 1));
    if (active >= 0) {
      links[active].classList.add("active");
      links[active].setAttribute("aria-selected", "true");
      links[active].scrollIntoView({ block: "nearest" });
    }
  }

  /* Filters start open on a wide screen, folded on a phone (above the hits there). */
  function fitFacets() {
    var facets = document.getElementById("facets");
    if (facets) facets.open = !window.matchMedia("(max-width: 60rem)").matches;
  }
  fitFacets();

  if (!form || !box || !results) return;

  function params() {
    var data = new URLSearchParams(new FormData(form));
    if (!data.get("q")) data.delete("q");
    return data;
  }

  function filtersActive(data) {
    return data.getAll("tag").length > 0 || data.get("deck") || data.get("year");
  }

  var pageUrl = form.getAttribute("action");
  var fragmentUrl = form.getAttribute("data-results-url");
  var homeUrl = form.getAttribute("data-home-url");

  /* The server-rendered fragment, parsed inert (no script in it runs) and swapped in. */
  function swapIn(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    results.replaceChildren.apply(results, Array.prototype.slice.call(doc.body.childNodes));
    fitFacets();
    results.hidden = false;
    if (home) home.hidden = true;
    active = -1;
  }

  var timer = null;
  var controller = null;
  var lastSent = null;

  function run() {
    var data = params();
    var key = data.toString();
    if (key === lastSent) return;
    lastSent = key;
    var query = key ? "?" + key : "";
    if (controller) controller.abort();
    if (!(data.get("q") || "").trim() && !filtersActive(data)) {
      results.hidden = true;
      results.replaceChildren();
      if (home) home.hidden = false;
      history.replaceState(null, "", location.pathname === homeUrl ? homeUrl : pageUrl + query);
      return;
    }
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    fetch(fragmentUrl + query, { signal: controller.signal, headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("search failed: " + response.status);
        return response.text();
      })
      .then(function (html) {
        swapIn(html);
        results.removeAttribute("aria-busy");
        history.replaceState(null, "", pageUrl + query);
        document.title = ((data.get("q") || "").trim() || "Search") + " · kb lecture slides";
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") return;
        results.removeAttribute("aria-busy");
        lastSent = null;  // the plain form still works: Enter submits it
      });
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });

  box.addEventListener("keydown", function (event) {
    var links = hitLinks();
    if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      setActive(active + 1);
    } else if (event.key === "ArrowUp" && links.length) {
      event.preventDefault();
      setActive(active - 1);
    } else if (event.key === "Enter" && active >= 0 && links[active]) {
      event.preventDefault();
      window.location.href = links[active].href;
    } else if (event.key === "Escape") {
      setActive(-1);
    }
  });

  /* Arrow keys also work when focus is on a hit (after Tab or a click). */
  results.addEventListener("keydown", function (event) {
    var links = hitLinks();
    var index = links.indexOf(document.activeElement);
    if (index < 0) return;
    if (event.key === "ArrowDown" && index < links.length - 1) {
      event.preventDefault();
      links[index + 1].focus();
      setActive(index + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (index === 0) { box.focus(); setActive(-1); }
      else { links[index - 1].focus(); setActive(index - 1); }
    }
  });

  /* A search already shown (server-rendered) is what the box holds: no refetch. */
  lastSent = params().toString();
  if (!box.value && !filtersActive(params())) lastSent = "";
})();
