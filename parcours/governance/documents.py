"""Procès-verbal d'une réunion de comité en PDF : présents et absents par collège, ordre du jour, relevé des
échanges, décisions, chiffres du tableau de bord figés à la date de la réunion."""

import html
import io


def minutes_pdf(meeting, *, rows):
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from parcours.core.pdf import html_paragraphs

    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("pv", fontSize=9.5, leading=12)
    bold = body.clone("pv-gras", fontName="Helvetica-Bold")

    def p(text, style=body):
        return Paragraph(html.escape(str(text if text is not None else ""), quote=False), style)

    def table(data, widths):
        t = Table(data, colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDEE")),
                ]
            )
        )
        return t

    committee = meeting.committee
    title = f"Procès-verbal — {committee.name} du {meeting.held_on:%d/%m/%Y}"
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        author=str(committee.departement),
        pageCompression=0,  # texte lisible par les outils de contrôle
    )
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
    story = [
        p(committee.departement.name, bold),
        Paragraph(html.escape(title, quote=False), styles["Title"]),
        p(where),
        Spacer(1, 4 * mm),
        Paragraph("Membres", styles["Heading2"]),
    ]
    present = {m.pk for m in meeting.present.all()}
    data = [[p("Membre", bold), p("Collège", bold), p("Organisme", bold), p("Présence", bold)]]
    for member in committee.members.all():
        data.append(
            [
                p(member.name),
                p(member.get_quality_display()),
                p(member.organisation),
                p("présent" if member.pk in present else "absent"),
            ]
        )
    story.append(table(data, [50 * mm, 50 * mm, 50 * mm, 30 * mm]))
    story.append(Paragraph("Ordre du jour", styles["Heading2"]))
    for item in meeting.agenda.all():
        who = f" (présenté par {item.presenter})" if item.presenter else ""
        story.append(p(f"{item.position}. {item.title}{who}"))
    story.append(Paragraph("Relevé des échanges", styles["Heading2"]))
    paragraphs = html_paragraphs(html.escape(meeting.minutes).replace("\n\n", "</p>").replace("\n", "<br>"))
    story += [Paragraph(text, body) for text in paragraphs] or [p("—")]
    story.append(Paragraph("Décisions", styles["Heading2"]))
    data = [[p("Décision", bold), p("Pilote", bold), p("Échéance", bold), p("Suivi", bold)]]
    for decision in meeting.decisions.all():
        data.append(
            [
                p(decision.text),
                p(decision.owner),
                p(f"{decision.due_on:%d/%m/%Y}" if decision.due_on else ""),
                p(decision.get_status_display()),
            ]
        )
    if len(data) == 1:
        data.append([p("Aucune décision"), p(""), p(""), p("")])
    story.append(table(data, [95 * mm, 35 * mm, 25 * mm, 25 * mm]))
    figures = getattr(meeting, "figures", None)
    if figures is not None:
        story.append(
            Paragraph(
                html.escape(
                    f"Chiffres du tableau de bord — {figures.scope_label}, du {figures.period_start:%d/%m/%Y} "
                    f"au {figures.period_end:%d/%m/%Y} (figés le {figures.computed_at:%d/%m/%Y})",
                    quote=False,
                ),
                styles["Heading2"],
            )
        )
        data = [[p("Indicateur", bold), p("Valeur", bold)]] + [[p(label), p(value)] for label, value in rows]
        story.append(table(data, [120 * mm, 60 * mm]))
    document.build(story)
    return buffer.getvalue()
