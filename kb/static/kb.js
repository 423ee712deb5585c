/* kb: search as you type, `/` to focus the search box, arrow keys through the hits.
 * Without JavaScript the search box is a plain GET form and every page still works.
 * Text from the server is put in the page with textContent only; the one HTML fragment,
 * the snippet, is rebuilt from its escaped text and its <mark> tags, never via innerHTML. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 180;

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
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

  /* ------------------------------------------------------------ snippets */
  var ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

  function unescapeHtml(text) {
    return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, function (all, name) {
      if (name[0] === "#") {
        var code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        try { return String.fromCodePoint(code); } catch (e) { return all; }
      }
      return Object.prototype.hasOwnProperty.call(ENTITIES, name) ? ENTITIES[name] : all;
    });
  }

  /* The snippet is escaped text with <mark>…</mark> around matched words. */
  function snippetNodes(snippet, parent) {
    var parts = String(snippet || "").split(/(<mark>|<\/mark>)/);
    var inMark = false;
    parts.forEach(function (part) {
      if (part === "<mark>") { inMark = true; return; }
      if (part === "</mark>") { inMark = false; return; }
      if (!part) return;
      var text = unescapeHtml(part);
      parent.appendChild(inMark ? el("mark", null, text) : document.createTextNode(text));
    });
  }

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

  function params(page) {
    var data = new URLSearchParams(new FormData(form));
    if (!data.get("q")) data.delete("q");
    if (page && page > 1) data.set("page", String(page));
    return data;
  }

  function filtersActive(data) {
    return data.getAll("tag").length > 0 || data.get("deck") || data.get("year");
  }

  function searchUrl(data, changes) {
    var out = new URLSearchParams(data);
    out.delete("page");
    Object.keys(changes || {}).forEach(function (key) {
      var value = changes[key];
      out.delete(key);
      if (Array.isArray(value)) value.forEach(function (v) { out.append(key, v); });
      else if (value !== null && value !== undefined && value !== "") out.set(key, value);
    });
    var text = out.toString();
    return "/search" + (text ? "?" + text : "");
  }

  function toggleList(list, value) {
    var low = value.toLowerCase();
    var kept = list.filter(function (v) { return v.toLowerCase() !== low; });
    if (kept.length === list.length) kept.push(value);
    return kept;
  }

  function renderHit(hit) {
    var li = el("li", "hit");
    var link = el("a", "hit-link");
    link.href = hit.link || hit.url;
    if (hit.thumbnail) {
      var img = el("img", "thumb");
      img.src = hit.thumbnail;
      img.alt = "";
      img.loading = "lazy";
      link.appendChild(img);
    }
    var body = el("span", "hit-body");
    body.appendChild(el("span", "hit-title", hit.display_title || hit.title || "Untitled slide"));
    var meta = el("span", "hit-meta");
    meta.appendChild(el("span", "hit-deck", hit.deck_title));
    meta.appendChild(el("span", "anchor", "#/" + hit.anchor));
    if (hit.date) {
      var time = el("time", null, niceDate(hit.date));
      time.setAttribute("datetime", hit.date);
      meta.appendChild(time);
    }
    (hit.tags || []).forEach(function (tag) { meta.appendChild(el("span", "tag", tag)); });
    body.appendChild(meta);
    if (hit.snippet) {
      var snippet = el("span", "snippet");
      if (hit.snippet_field === "ocr") {
        snippet.appendChild(el("span", "label label-ocr", "Text found in image"));
        snippet.appendChild(document.createTextNode(" "));
      } else if (hit.snippet_field === "notes") {
        snippet.appendChild(el("span", "label", "Speaker notes"));
        snippet.appendChild(document.createTextNode(" "));
      }
      snippetNodes(hit.snippet, snippet);
      body.appendChild(snippet);
    }
    link.appendChild(body);
    li.appendChild(link);
    return li;
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function niceDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    return m ? parseInt(m[3], 10) + " " + MONTHS[parseInt(m[2], 10) - 1] + " " + m[1] : iso;
  }

  function facetItem(href, on, name, count) {
    // One facet filter: its name and count, a link that toggles it.
    var a = link(href, "", on ? "on" : "");
    a.appendChild(el("span", "facet-name", name));
    a.appendChild(document.createTextNode(" "));
    a.appendChild(el("span", "count", String(count)));
    var li = el("li");
    li.appendChild(a);
    return li;
  }

  function link(href, text, className) {
    var a = el("a", className, text);
    a.href = href;
    return a;
  }

  function notice(className, parts) {
    var p = el("p", "notice " + (className || ""));
    parts.forEach(function (part) {
      p.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    });
    return p;
  }

  function render(data, sent) {
    var head = el("div", "results-head");
    var main = el("div", "results-main");
    var side = el("aside", "results-side");
    side.id = "side";
    var summary = el("p", "summary");
    summary.id = "summary";
    summary.setAttribute("role", "status");
    var q = (data.query || "").trim();
    if (data.total) {
      summary.appendChild(el("strong", null, String(data.total)));
      summary.appendChild(document.createTextNode(data.total === 1 ? " slide" : " slides"));
      if (q) {
        summary.appendChild(document.createTextNode(" for "));
        summary.appendChild(el("q", null, data.query));
      }
    } else {
      summary.appendChild(document.createTextNode("No slide matches"));
      if (q) {
        summary.appendChild(document.createTextNode(" "));
        summary.appendChild(el("q", null, data.query));
      }
      summary.appendChild(document.createTextNode("."));
    }
    head.appendChild(summary);

    var filters = data.filters || {};
    var tags = filters.tags || [];
    if (tags.length || filters.year || filters.deck) {
      var chips = el("p", "chips");
      tags.forEach(function (tag) {
        chips.appendChild(link(searchUrl(sent, { tag: toggleList(tags, tag) }), "Course " + tag + " ×", "chip"));
      });
      if (filters.year) chips.appendChild(link(searchUrl(sent, { year: null }), "Year " + filters.year + " ×", "chip"));
      if (filters.deck) chips.appendChild(link(searchUrl(sent, { deck: null }), "Deck " + filters.deck + " ×", "chip"));
      head.appendChild(chips);
    }
    if (data.relaxed) {
      head.appendChild(notice("notice-relaxed", ["No slide has all the words; showing slides with most of them."]));
    }
    if (data.suggestion) {
      head.appendChild(notice("suggestion", ["Did you mean ", link(searchUrl(sent, { q: data.suggestion }), data.suggestion), "?"]));
    }
    if (data.total && !data.hits.length) {
      head.appendChild(notice("", ["Page " + data.page + " is past the last page of results. ", link(searchUrl(sent, {}), "Back to page 1")]));
    } else if (!data.total) {
      head.appendChild(notice("tips", ["Try fewer or other words, check the spelling, or remove a filter."]));
    }
    var list = el("ol", "hits");
    list.id = "hits";
    data.hits.forEach(function (hit) { list.appendChild(renderHit(hit)); });
    main.appendChild(list);

    if (data.pages > 1) {
      var pager = el("nav", "pager");
      pager.setAttribute("aria-label", "Result pages");
      var base = searchUrl(sent, {});
      var join = base.indexOf("?") >= 0 ? "&" : "?";
      if (data.page > 1) pager.appendChild(link(base + (data.page > 2 ? join + "page=" + Math.min(data.page - 1, data.pages) : ""), "← Previous"));
      pager.appendChild(el("span", "pages", "Page " + data.page + " of " + data.pages));
      if (data.page < data.pages) pager.appendChild(link(base + join + "page=" + (data.page + 1), "Next →"));
      main.appendChild(pager);
    }

    var facets = data.facets || { tags: {}, years: {} };
    var tagNames = Object.keys(facets.tags || {});
    var years = Object.keys(facets.years || {}).sort().reverse();
    if (tagNames.length || years.length || tags.length || filters.year) {
      var box = el("details", "facets");
      box.id = "facets";
      box.open = true;
      box.appendChild(el("summary", null, "Filter"));
      if (tagNames.length || tags.length) {
        box.appendChild(el("h2", "facet-title", "Course"));
        var ul = el("ul", "facet-list");
        tagNames.forEach(function (tag) {
          var on = tags.some(function (t) { return t.toLowerCase() === tag.toLowerCase(); });
          ul.appendChild(facetItem(searchUrl(sent, { tag: toggleList(tags, tag) }), on, tag,
                                   facets.tags[tag]));
        });
        box.appendChild(ul);
      }
      if (years.length || filters.year) {
        box.appendChild(el("h2", "facet-title", "Year"));
        var yl = el("ul", "facet-list");
        years.forEach(function (year) {
          var on = filters.year === year;
          yl.appendChild(facetItem(searchUrl(sent, { year: on ? null : year }), on, year,
                                   facets.years[year]));
        });
        box.appendChild(yl);
      }
      side.appendChild(box);
    }

    results.replaceChildren(head, main, side);
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
    var url = "/search" + (key ? "?" + key : "");
    if (!(data.get("q") || "").trim() && !filtersActive(data)) {
      if (controller) controller.abort();
      results.hidden = true;
      results.replaceChildren();
      if (home) home.hidden = false;
      history.replaceState(null, "", location.pathname === "/" ? "/" : url);
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    fetch("/api/search?" + key, { signal: controller.signal, headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("search failed: " + response.status);
        return response.json();
      })
      .then(function (json) {
        render(json, data);
        results.removeAttribute("aria-busy");
        history.replaceState(null, "", url);
        document.title = ((json.query || "").trim() || "Search") + " · kb lecture slides";
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
