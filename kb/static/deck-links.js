/* Links that survive edits (kb/slidekeys.py) and related slides (kb/related.py).
 *
 * The server put its answer for the link's ?s= key in #slide-moved: the anchors of the
 * slides that have that key now (data-matches), else the most similar slide (data-target),
 * else the slide is gone. Only the browser knows the link's #/h/v (a fragment never reaches
 * the server), so the message is picked, filled in and shown here, and the deck is moved
 * by replacing the hash (the viewer follows hash changes).
 *
 * Then, as the reader moves, `?s=` in the address bar follows the slide on screen, so the
 * address bar, a bookmark or "copy link" (which copies location.href) is always a link
 * that survives edits.
 */
(function () {
  "use strict";

  function here() {
    var m = /^#\/(\d+(?:\/\d+)?)\/?$/.exec(location.hash);
    return m ? m[1].replace(/\/0$/, "") : "";
  }

  function order(anchor) {
    var parts = anchor.split("/");
    return Number(parts[0]) * 100000 + Number(parts[1] || 0);
  }

  function go(anchor) {
    location.replace(location.pathname + location.search + "#/" + anchor);
  }

  function show(box, name, from, to) {
    var p = box.querySelector('[data-case="' + name + '"]');
    if (!p) return;
    p.querySelectorAll(".moved-from").forEach(function (e) { e.textContent = from || ""; });
    p.querySelectorAll(".moved-to").forEach(function (e) { e.textContent = to || ""; });
    p.hidden = false;
    box.hidden = false;
  }

  function relocate() {
    var box = document.getElementById("slide-moved");
    if (!box) return;
    var at = here();
    var matches = box.dataset.matches ? box.dataset.matches.split(" ") : [];
    var target = box.dataset.target;
    if (matches.length) {
      if (at && matches.indexOf(at) >= 0) return;  // the link still points at its slide
      var best = matches.reduce(function (a, b) {  // the same slide twice: the nearer one
        return Math.abs(order(b) - order(at || "0")) < Math.abs(order(a) - order(at || "0")) ? b : a;
      });
      if (at) show(box, "moved", at, best);
      go(best);
    } else if (target) {
      var from = at || box.dataset.was;
      if (from === target) {
        show(box, "changed");
      } else {
        show(box, "moved-changed", from, target);
      }
      if (at !== target) go(target);
    } else {
      show(box, "gone");
    }
  }

  var shown = null;
  function related() {
    var at = here() || "0";
    if (at === shown) return;
    shown = at;
    document.querySelectorAll("#related .related").forEach(function (div) {
      div.hidden = div.dataset.for !== at;
    });
  }

  var keys = {};
  var list = document.getElementById("slide-keys");
  (list ? list.dataset.keys.split(" ") : []).forEach(function (pair) {
    var i = pair.lastIndexOf(":");
    if (i > 0) keys[pair.slice(0, i)] = pair.slice(i + 1);
  });

  function sync() {
    var key = keys[here() || "0"];
    var params = new URLSearchParams(location.search);
    if (!key || params.get("s") === key) return;
    params.set("s", key);
    history.replaceState(history.state, "", location.pathname + "?" + params.toString() + location.hash);
  }

  function follow() {
    related();
    sync();
  }

  relocate();
  follow();
  window.addEventListener("hashchange", follow);
  // Viewers also move with history.replaceState, which fires no event: look now and then.
  window.setInterval(follow, 400);
})();
