"""Procès-verbal d'une réunion de comité en PDF : présents et absents par collège, ordre du jour, relevé des
échanges, décisions, chiffres du tableau de bord figés à la date de la réunion."""

import html

from parcours.core.pdf import Minutes, html_paragraphs


def minutes_pdf(meeting, *, rows):
    """``rows`` : (indicateur, valeur lisible) des chiffres figés (``services.figure_rows``)."""
    committee = meeting.committee
    title = f"Procès-verbal — {committee.name} du {meeting.held_on:%d/%m/%Y}"
    pdf = Minutes(title=title, author=str(committee.departement))
    p = pdf.p
    where = ", ".join(
        part
        for part in (
            committee.get_kind_display(),
            meeting.place,
            f"début à {meeting.starts_at:%H:%M}" if meeting.starts_at else "",
            f"procès-verbal arrêté le {meeting.closed_on:%d/%m/%Y}" if meeting.closed_on else "projet",
        )
        if part
    )
    story = [p(committee.departement.name, bold=True), pdf.heading(title, "Title"), p(where), pdf.space(4)]
    present = {m.pk for m in meeting.present.all()}
    table = [["Membre", "Collège", "Organisme", "Présence"]]
    for member in committee.members.all():
        table.append(
            [
                p(member.name),
                p(member.get_quality_display()),
                p(member.organisation),
                p("présent" if member.pk in present else "absent"),
            ]
        )
    story += [pdf.heading("Membres"), pdf.table(table, [50, 50, 50, 30]), pdf.heading("Ordre du jour")]
    for item in meeting.agenda.all():
        who = f" (présenté par {item.presenter})" if item.presenter else ""
        story.append(p(f"{item.position}. {item.title}{who}"))
    story.append(pdf.heading("Relevé des échanges"))
    paragraphs = html_paragraphs(html.escape(meeting.minutes).replace("\n\n", "</p>").replace("\n", "<br>"))
    story += [pdf.paragraph_html(text) for text in paragraphs] or [p("—")]
    table = [["Décision", "Pilote", "Échéance", "Suivi"]]
    for decision in meeting.decisions.all():
        table.append(
            [
                p(decision.text),
                p(decision.owner),
                p(f"{decision.due_on:%d/%m/%Y}" if decision.due_on else ""),
                p(decision.get_status_display()),
            ]
        )
    if len(table) == 1:
        table.append([p("Aucune décision"), p(""), p(""), p("")])
    story += [pdf.heading("Décisions"), pdf.table(table, [95, 35, 25, 25])]
    figures = getattr(meeting, "figures", None)
    if figures is not None:
        story.append(
            pdf.heading(
                f"Chiffres du tableau de bord — {figures.scope_label}, du {figures.period_start:%d/%m/%Y} "
                f"au {figures.period_end:%d/%m/%Y} (figés le {figures.computed_at:%d/%m/%Y})"
            )
        )
        story.append(pdf.table([["Indicateur", "Valeur"], *([p(a), p(b)] for a, b in rows)], [120, 60]))
    return pdf.build(story)
