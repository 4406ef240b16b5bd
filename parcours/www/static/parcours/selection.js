// Sélection de lignes d'une liste (impression en nombre) : la case « tout sélectionner »
// (data-select-all="nom des cases") coche ou décoche les cases de la liste dans son formulaire ; le
// compteur (data-selection-count) dit combien de lignes sont cochées.
const selectionBoxes = (form, name) =>
  [...form.querySelectorAll(`input[type="checkbox"][name="${name}"]`)];

const refreshSelection = (form) => {
  form.querySelectorAll("[data-select-all]").forEach((all) => {
    const boxes = selectionBoxes(form, all.dataset.selectAll);
    const checked = boxes.filter((box) => box.checked).length;
    all.checked = boxes.length > 0 && checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
    form.querySelectorAll("[data-selection-count]").forEach((counter) => {
      counter.textContent = checked <= 1 ? `${checked} ligne sélectionnée` : `${checked} lignes sélectionnées`;
    });
  });
};

document.addEventListener("change", (event) => {
  const form = event.target.form;
  if (!form || !form.querySelector("[data-select-all]")) {
    return;
  }
  const name = event.target.dataset.selectAll;
  if (name) {
    selectionBoxes(form, name).forEach((box) => {
      box.checked = event.target.checked;
    });
  }
  refreshSelection(form);
});

const refreshAllSelections = () => {
  document.querySelectorAll("form").forEach((form) => {
    if (form.querySelector("[data-select-all]")) {
      refreshSelection(form);
    }
  });
};
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", refreshAllSelections);
} else {
  refreshAllSelections();
}
