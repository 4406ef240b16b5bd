// Comportements simples sans script en ligne (compatibles avec la politique de sécurité du contenu).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) {
    field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  }
});

// Tableaux plus larges que l'écran : leur conteneur défile, il doit donc pouvoir recevoir le focus pour
// défiler au clavier (RGAA 7.3, règle axe « scrollable-region-focusable »). Le conteneur devient une
// région nommée par la légende du tableau. Recalculé chaque fois que le conteneur ou son contenu change de
// taille (ResizeObserver : fenêtre redimensionnée, tableau chargé par htmx puis mis en forme par le DSFR).
const checkScrollable = (box) => {
  const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
  if (scrolls && !box.hasAttribute("tabindex")) {
    const caption = box.querySelector("caption");
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", caption ? caption.textContent.trim() : "Tableau (défilement horizontal)");
    box.dataset.parcoursScroll = "1";
  } else if (!scrolls && box.dataset.parcoursScroll) {
    ["tabindex", "role", "aria-label", "data-parcours-scroll"].forEach((name) => box.removeAttribute(name));
  }
};
const boxOf = new WeakMap();
const resized = "ResizeObserver" in window
  ? new ResizeObserver((entries) => entries.forEach((entry) => checkScrollable(boxOf.get(entry.target))))
  : null;
const scrollableTables = () => {
  document.querySelectorAll(".fr-table__container, .parcours-scroll").forEach((box) => {
    checkScrollable(box);
    if (resized && !boxOf.has(box)) {
      [box, box.firstElementChild].filter(Boolean).forEach((element) => {
        boxOf.set(element, box);
        resized.observe(element);
      });
    }
  });
};
if (!resized) {
  window.addEventListener("resize", scrollableTables);
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", scrollableTables);
} else {
  scrollableTables();
}
document.addEventListener("htmx:afterSettle", scrollableTables);
