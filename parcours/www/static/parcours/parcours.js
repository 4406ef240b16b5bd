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
// région nommée par la légende du tableau ; recalculé quand la fenêtre change de taille.
const scrollableTables = () => {
  document.querySelectorAll(".fr-table__container, .parcours-scroll").forEach((box) => {
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
  });
};
let scrollableTimer;
window.addEventListener("resize", () => {
  clearTimeout(scrollableTimer);
  scrollableTimer = setTimeout(scrollableTables, 150);
});
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", scrollableTables);
} else {
  scrollableTables();
}
document.addEventListener("htmx:afterSettle", scrollableTables);
