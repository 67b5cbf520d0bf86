// Huifang console: progressive enhancement only. Every page works without
// this script; with it, pages marked data-live refresh their live parts
// from server-sent events, and pages declare keyboard shortcuts with
// data-key on links and buttons.
(function () {
  "use strict";
  // Keyboard shortcuts: an element with data-key="j" is clicked when j is
  // pressed outside a text field.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var el = document.querySelector('[data-key="' + CSS.escape(e.key) + '"]');
    if (el) { e.preventDefault(); if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") el.focus(); else el.click(); }
  });
  // Live regions: an element with data-live="/path" is replaced by the HTML
  // each event of that server-sent event stream carries.
  document.querySelectorAll("[data-live]").forEach(function (el) {
    if (!window.EventSource) return;
    var es = new EventSource(el.getAttribute("data-live"));
    es.onmessage = function (ev) { el.innerHTML = ev.data; };
  });
})();

// ---- Review queue and flag page ----------------------------------------
// Tables marked data-rows: j and k move a selection over the rows that have
// data-href, Enter opens the selected row. An element with data-then-focus
// focuses the element of that id after it is clicked (the decision keys
// pick a decision, then put the cursor in the reason).
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("table[data-rows] tr[data-href]"));
  var at = -1;
  function select(i) {
    if (!rows.length) return;
    if (at >= 0) rows[at].classList.remove("selected");
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add("selected");
    rows[at].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || !rows.length) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (e.key === "j") { e.preventDefault(); select(at + 1); }
    else if (e.key === "k") { e.preventDefault(); select(at - 1); }
    else if (e.key === "Enter" && at >= 0) { e.preventDefault(); window.location.href = rows[at].getAttribute("data-href"); }
  });
  rows.forEach(function (tr) {
    tr.addEventListener("click", function (e) {
      if (e.target.closest("a, button, input, label")) return;
      window.location.href = tr.getAttribute("data-href");
    });
  });
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-then-focus]");
    if (!el) return;
    var f = document.getElementById(el.getAttribute("data-then-focus"));
    if (f) setTimeout(function () { f.focus(); }, 0);
  });
})();
