// Progressive enhancement only: every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = button.dataset.copiedLabel || "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
// A link drawn as a button (role="button") is pressed with Space too, as a keyboard user expects of a button.
document.addEventListener("keydown", (event) => {
  if (event.key !== " " || !event.target.matches("a[role=button]")) return;
  event.preventDefault();  // not the page scrolling
  event.target.click();
});
// htmx 2 does not swap 4xx responses: let form errors (422) replace their section.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// After a swap that brought an error summary, move the focus to it (screen readers announce it).
document.addEventListener("htmx:afterSettle", (event) => {
  const summary = event.detail.elt.querySelector ? event.detail.elt.querySelector("[data-error-summary]") : null;
  if (summary) summary.focus();
});
// Toasts fade out after a few seconds; they stay in the page for screen readers until then.
function dismissToasts(root) {
  root.querySelectorAll("[data-toast]").forEach((toast) => {
    setTimeout(() => {
      toast.classList.add("is-leaving");
      setTimeout(() => toast.remove(), 500);
    }, 5000);
  });
}
document.addEventListener("DOMContentLoaded", () => dismissToasts(document));
// Text as a search compares it: lower case, accents set aside ("etats" finds "États-Unis").
function searchable(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}
// A search box that filters a long checkbox list (the shipping countries) by label. It is kept across the
// section's swaps (hx-preserve), and its filter applied again to the new list, so that ticking a country
// does not clear the search.
function filterCheckboxList(input) {
  const list = document.getElementById(input.dataset.filterList);
  if (!list) return;
  const query = searchable(input.value.trim());
  list.querySelectorAll("label").forEach((label) => {
    const checkbox = label.querySelector("input[type=checkbox]");
    const match = !query || searchable(label.textContent).includes(query) || (checkbox && checkbox.checked);
    (label.closest("div:not(.checkbox-list)") || label).hidden = !match;
  });
}
document.addEventListener("input", (event) => {
  const input = event.target.closest("[data-filter-list]");
  if (input) filterCheckboxList(input);
});
document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll("[data-filter-list]").forEach((input) => { if (input.value) filterCheckboxList(input); });
});
// Live sections ([data-live-section]) re-render on a choice (select, radio, checkbox), never while
// someone types: a swap during typing would replace the field with the value sent a moment earlier.
// Text fields are checked when the whole form is submitted.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (!field.closest || !field.closest("[data-live-section]")) return;
  const typed = field.matches("textarea, input:not([type=checkbox]):not([type=radio])");
  if (typed) event.stopPropagation();
}, true);
// The navigation's Menu button on a phone: a disclosure (aria-expanded shows the list, by CSS); Escape
// closes it and gives the focus back to the button.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-nav-toggle]");
  if (!toggle) return;
  toggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded") === "true" ? "false" : "true");
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const toggle = document.querySelector('[data-nav-toggle][aria-expanded="true"]');
  if (!toggle) return;
  toggle.setAttribute("aria-expanded", "false");
  toggle.focus();
});
// A list's "Select all on this page" checks every row's box, and follows them: checked when all are,
// mixed when some are. Without JavaScript the box still works: the server then takes the page's rows.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box.matches || !box.matches("input[type=checkbox]")) return;
  const all = box.matches("[data-select-all]") ? box : null;
  const formId = all ? all.dataset.selectAll : box.getAttribute("form");
  if (!formId) return;
  const rows = [...document.querySelectorAll(`input[type=checkbox][name=ids][form="${formId}"]`)];
  const selectAll = all || document.querySelector(`[data-select-all="${formId}"]`);
  if (!selectAll || !rows.length) return;
  if (all) rows.forEach((row) => { row.checked = all.checked; });
  const checked = rows.filter((row) => row.checked).length;
  selectAll.checked = checked === rows.length;
  selectAll.indeterminate = checked > 0 && checked < rows.length;
});
// The price picker's search box (links/widgets/price_select.html): hidden without JavaScript, it keeps
// the options whose label holds every word typed (and the one chosen).
function showPriceSearch(root) {
  root.querySelectorAll("[data-filter-select]").forEach((input) => { input.hidden = false; });
}
document.addEventListener("DOMContentLoaded", () => showPriceSearch(document));
document.addEventListener("htmx:load", (event) => showPriceSearch(event.detail.elt));
document.addEventListener("input", (event) => {
  const input = event.target.closest("[data-filter-select]");
  if (!input) return;
  const select = document.getElementById(input.dataset.filterSelect);
  if (!select) return;
  const words = searchable(input.value.trim()).split(/\s+/).filter(Boolean);
  for (const option of select.options) {
    const label = searchable(option.textContent);
    option.hidden = Boolean(option.value) && !option.selected && !words.every((word) => label.includes(word));
  }
});
// A section swapped in to be read next (a bulk action's confirmation above its list) takes the focus,
// unless it brought an error summary, which took it above.
document.addEventListener("htmx:afterSettle", (event) => {
  const id = event.detail.target && event.detail.target.id;
  const swapped = id && document.getElementById(id);
  if (swapped && swapped.matches("[data-focus-on-swap]") && !swapped.querySelector("[data-error-summary]")) {
    swapped.focus();
  }
});
