"""Courriers en PDF (un par page), pour l'envoi postal en nombre.

Les corps de courrier sont écrits en HTML simple par les gabarits du Département (paragraphes, gras,
italique, listes, sauts de ligne) ; ils sont convertis vers le sous-ensemble que comprend ReportLab.
"""

import html
import io
import re

from django.utils import timezone

_BLOCK = re.compile(r"</p>|<br\s*/?>\s*<br\s*/?>|</li>|</h[1-6]>|</div>", re.IGNORECASE)
_KEEP = {"b": "b", "strong": "b", "i": "i", "em": "i", "br": "br"}
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9]+)[^>]*?(/?)>")


def _inline(fragment):
    """Ne garde que gras, italique et sauts de ligne ; échappe tout le reste."""
    out, position = [], 0
    for match in _TAG.finditer(fragment):
        out.append(html.escape(html.unescape(fragment[position : match.start()]), quote=False))
        closing, name = match.group(1), match.group(2).lower()
        if name in _KEEP:
            tag = _KEEP[name]
            out.append("<br/>" if tag == "br" else f"<{closing}{tag}>")
        elif name == "li" and not closing:
            out.append("• ")
        position = match.end()
    out.append(html.escape(html.unescape(fragment[position:]), quote=False))
    return "".join(out).strip()


def html_paragraphs(body):
    return [text for text in (_inline(part) for part in _BLOCK.split(body or "")) if text]


def _address(person):
    civility = {"M": "Monsieur", "MME": "Madame"}.get(person.civility, "")
    lines = [f"{civility} {person.first_name} {person.last_name.upper()}".strip()]
    if person.address:
        lines.append(person.address)
    if person.postal_code or person.city:
        lines.append(f"{person.postal_code} {person.city}".strip())
    return "<br/>".join(html.escape(line, quote=False) for line in lines)


def letters_pdf(pages, *, title, service="Service insertion"):
    """``pages`` : liste de (personne, corps HTML). Renvoie le PDF (octets), un courrier par page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("corps", fontSize=10.5, leading=14, spaceAfter=6)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="Parcours",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        pageCompression=0,  # courriers légers ; texte lisible par les outils de contrôle
    )
    today = timezone.localdate().strftime("%d/%m/%Y")
    story = []
    for index, (person, content) in enumerate(pages):
        if index:
            story.append(PageBreak())
        sender = Paragraph(f"<b>{html.escape(person.departement.name, quote=False)}</b><br/>{service}", body)
        story.append(
            Table([[sender, ""], ["", Paragraph(_address(person), body)]], colWidths=[90 * mm, 80 * mm])
        )
        story += [Spacer(1, 12 * mm), Paragraph(f"Le {today}", body), Spacer(1, 6 * mm)]
        story += [Paragraph(text, body) for text in html_paragraphs(content)]
    if not pages:
        story.append(Paragraph("Aucun courrier à imprimer.", body))
    document.build(story)
    return buffer.getvalue()
