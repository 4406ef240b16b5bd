"""Courriers en PDF (un par page), pour l'envoi postal en nombre.

Les corps de courrier sont écrits en HTML simple par les gabarits du Département (paragraphes, gras,
italique, listes, sauts de ligne) ; ils sont convertis vers le sous-ensemble que comprend ReportLab.

Mise en page d'un courrier (``Letter``) : en-tête de l'expéditeur (le Département ; son adresse vient du
gabarit ``documents/letterhead.txt``, surchargé par Département dans ``documents/<code>/letterhead.txt``),
adresse de la personne dans la fenêtre de l'enveloppe, date, référence, objet, corps, puis des blocs
structurés (titres, champs, tableaux, signatures). Chaque courrier commence sur une nouvelle page : un PDF
de N courriers se coupe en N envois.
"""

import html
import io
import re
from dataclasses import dataclass, field

from django.template.loader import select_template
from django.utils import timezone

_BLOCK = re.compile(r"</p>|<br\s*/?>\s*<br\s*/?>|</li>|</h[1-6]>|</div>", re.IGNORECASE)
_KEEP = {"b": "b", "strong": "b", "i": "i", "em": "i", "br": "br"}
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9]+)[^>]*?(/?)>")

#: Nombre maximal de courriers dans un même PDF (impression en nombre) : au-delà, l'agent découpe sa sélection.
MAX_LETTERS = 500
TOO_MANY = (
    "Un PDF contient au plus {cap} courriers : vous en avez sélectionné {count}. "
    "Réduisez la sélection (filtre, page) et imprimez en plusieurs fois."
)


def too_many_message(count, cap=None):
    """Message (français) d'une sélection au-delà du plafond d'un PDF (``MAX_LETTERS``), ou chaîne vide."""
    cap = MAX_LETTERS if cap is None else cap
    return TOO_MANY.format(cap=cap, count=count) if count > cap else ""


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


def text_paragraphs(text):
    """Texte saisi (sauts de ligne) en paragraphes ReportLab, tout échappé."""
    blocks = re.split(r"\n\s*\n", (text or "").strip())
    return [html.escape(b.strip(), quote=False).replace("\n", "<br/>") for b in blocks if b.strip()]


def _address_lines(person):
    civility = {"M": "Monsieur", "MME": "Madame"}.get(person.civility, "")
    lines = [f"{civility} {person.first_name} {person.last_name.upper()}".strip()]
    if person.address:
        lines.append(person.address)
    if person.postal_code or person.city:
        lines.append(f"{person.postal_code} {person.city}".strip())
    return lines


def _address(person):
    return "<br/>".join(html.escape(line, quote=False) for line in _address_lines(person))


def letterhead(departement, service="Service insertion"):
    """Lignes de l'expéditeur : nom du Département, service, adresse postale (gabarit
    ``documents/<code>/letterhead.txt`` du Département, sinon ``documents/letterhead.txt``)."""
    name = departement.name if departement is not None else ""
    code = getattr(departement, "departement_code", "") or ""
    names = [f"documents/{code}/letterhead.txt"] if code else []
    template = select_template([*names, "documents/letterhead.txt"])
    text = template.render({"departement": departement, "name": name, "service": service})
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class Letter:
    """Un courrier d'une page (ou plus) à la personne.

    ``body`` : HTML simple (gabarit) ; ``blocks`` : blocs structurés après le corps, chacun un tuple :
    ``("h", titre)``, ``("p", html)``, ``("text", texte saisi)``, ``("fields", [(libellé, valeur)])``,
    ``("table", [en-têtes], [[cellules]])``, ``("signatures", [libellés])``, ``("small", texte)``.
    """

    person: object
    body: str = ""
    subject: str = ""
    reference: str = ""
    sender: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    title: str = ""
    compact: bool = False  # document dense (contrat) : texte plus petit pour tenir sur une page


def _as_letter(page, service):
    if isinstance(page, Letter):
        return page
    person, content = page
    return Letter(person=person, body=content, sender=letterhead(person.departement, service))


def letters_pdf(pages, *, title, service="Service insertion"):
    """``pages`` : courriers (``Letter``) ou couples (personne, corps HTML). Renvoie le PDF (octets), chaque
    courrier sur une nouvelle page."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    sheets = {}

    def sheet(compact):
        size = 8.5 if compact else 10.5
        body = styles["BodyText"].clone(
            f"corps{compact}", fontSize=size, leading=size + 2.5, spaceAfter=3 if compact else 6
        )
        return {
            "body": body,
            "small": body.clone(
                f"petit{compact}", fontSize=7.5, leading=9, textColor=colors.HexColor("#555555")
            ),
            "cell": body.clone(f"cellule{compact}", fontSize=size - 1, leading=size + 1, spaceAfter=0),
            "bold_cell": body.clone(
                f"gras{compact}", fontSize=size - 1, leading=size + 1, spaceAfter=0, fontName="Helvetica-Bold"
            ),
            "heading": body.clone(
                f"titre{compact}",
                fontName="Helvetica-Bold",
                fontSize=size + 1,
                leading=size + 4,
                spaceBefore=3 if compact else 6,
            ),
            "title": body.clone(
                f"titre-courrier{compact}", fontName="Helvetica-Bold", fontSize=size + 2.5, leading=size + 6
            ),
        }

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="Parcours",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        pageCompression=0,  # courriers légers ; texte lisible par les outils de contrôle
    )
    width = A4[0] - 40 * mm
    today = timezone.localdate().strftime("%d/%m/%Y")

    def esc(value):
        return html.escape(str(value if value is not None else ""), quote=False)

    def grid(rows, widths, header=False):
        table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
        style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 3)]
        if header:
            style += [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E3E3FD")),
            ]
        table.setStyle(TableStyle(style))
        return table

    def block(st, kind, *args):
        body, small, cell, bold_cell, heading = (
            st[k] for k in ("body", "small", "cell", "bold_cell", "heading")
        )
        if kind == "h":
            return [Paragraph(esc(args[0]), heading)]
        if kind == "p":
            return [Paragraph(text, body) for text in html_paragraphs(args[0])]
        if kind == "text":
            return [Paragraph(text, body) for text in text_paragraphs(args[0])] or [Paragraph("—", body)]
        if kind == "small":
            return [Paragraph(esc(args[0]), small)]
        if kind == "fields":
            rows = [
                [Paragraph(esc(label), bold_cell), Paragraph(esc(value) or "—", cell)]
                for label, value in args[0]
            ]
            return [grid(rows, [55 * mm, width - 55 * mm]), Spacer(1, 2 * mm)] if rows else []
        if kind == "table":
            header, rows = args
            count = len(header)
            widths = [width * 0.5] + [width * 0.5 / (count - 1)] * (count - 1) if count > 1 else [width]
            data = [[Paragraph(esc(h), bold_cell) for h in header]]
            data += [[Paragraph(esc(value), cell) for value in row] for row in rows]
            return [grid(data, widths, header=True), Spacer(1, 2 * mm)]
        if kind == "signatures":
            labels = args[0]
            boxes = [[Paragraph(esc(label), cell) for label in labels], ["" for _ in labels]]
            table = Table(boxes, colWidths=[width / len(labels)] * len(labels), rowHeights=[None, 18 * mm])
            table.setStyle(TableStyle([("LINEABOVE", (0, 0), (-1, 0), 0.6, colors.black)]))
            return [Spacer(1, 3 * mm), KeepTogether([table])]
        raise ValueError(f"Bloc de courrier inconnu : {kind}")

    story = []
    for index, page in enumerate(pages):
        letter = _as_letter(page, service)
        st = sheets.setdefault(letter.compact, sheet(letter.compact))
        body = st["body"]
        if index:
            story.append(PageBreak())
        sender_lines = letter.sender or letterhead(letter.person.departement, service)
        sender = Paragraph(
            f"<b>{esc(sender_lines[0])}</b>" + "".join(f"<br/>{esc(line)}" for line in sender_lines[1:]), body
        )
        story.append(
            Table(
                [[sender, ""], ["", Paragraph(_address(letter.person), body)]],
                colWidths=[90 * mm, width - 90 * mm],
            )
        )
        story += [Spacer(1, (5 if letter.compact else 10) * mm), Paragraph(f"Le {today}", body)]
        if letter.reference:
            story.append(Paragraph(f"Référence : {esc(letter.reference)}", body))
        if letter.subject:
            story.append(Paragraph(f"<b>Objet : {esc(letter.subject)}</b>", body))
        story.append(Spacer(1, (2 if letter.compact else 4) * mm))
        if letter.title:
            story.append(Paragraph(esc(letter.title), st["title"]))
        story += [Paragraph(text, body) for text in html_paragraphs(letter.body)]
        for item in letter.blocks:
            story += block(st, *item)
    if not story:
        story.append(Paragraph("Aucun courrier à imprimer.", sheet(False)["body"]))
    document.build(story)
    return buffer.getvalue()


def page_count(pdf):
    """Nombre de pages d'un PDF produit ici (objets ``/Type /Page``, sans compression)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def selected_ids(values):
    """Identifiants cochés dans une liste (``ids=3&ids=5`` ou ``ids=3,5``), sans doublon, dans l'ordre."""
    ids = {}
    for value in values:
        for part in str(value).split(","):
            if part.strip().isdigit():
                ids.setdefault(int(part), None)
    return list(ids)


def pdf_response(pdf, stem, *, inline=False):
    """Réponse HTTP d'un PDF produit ici, nommé ``<stem>-<date du jour>.pdf``."""
    from django.http import HttpResponse

    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{stem}-{timezone.localdate():%Y-%m-%d}.pdf"'
    return response


class Minutes:
    """Un procès-verbal A4 (séance de l'équipe pluridisciplinaire, réunion de comité) : paragraphes échappés,
    titres, tableaux quadrillés à en-tête répété ; ``build(story)`` renvoie le PDF (octets)."""

    def __init__(self, *, title, author):
        from reportlab.lib.styles import getSampleStyleSheet

        self.title, self.author = title, author
        self.styles = getSampleStyleSheet()
        self.body = self.styles["BodyText"].clone("pv", fontSize=9.5, leading=12)
        self.bold = self.body.clone("pv-gras", fontName="Helvetica-Bold")

    def p(self, text, *, bold=False):
        from reportlab.platypus import Paragraph

        value = html.escape(str(text if text is not None else ""), quote=False)
        return Paragraph(value, self.bold if bold else self.body)

    def paragraph_html(self, fragment):
        """Un paragraphe déjà converti par ``html_paragraphs`` (gras, italique, sauts de ligne gardés)."""
        from reportlab.platypus import Paragraph

        return Paragraph(fragment, self.body)

    def heading(self, text, level="Heading2"):
        from reportlab.platypus import Paragraph

        return Paragraph(html.escape(text, quote=False), self.styles[level])

    def table(self, rows, widths_mm):
        """``rows`` : la première ligne est l'en-tête ; cellules en texte (échappé) ou déjà en Paragraph."""
        from reportlab.lib import colors
        from reportlab.lib.units import mm
        from reportlab.platypus import Table, TableStyle

        cells = [
            [self.p(c, bold=not i) if isinstance(c, str) else c for c in row] for i, row in enumerate(rows)
        ]
        table = Table(cells, colWidths=[w * mm for w in widths_mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDEE")),
                ]
            )
        )
        return table

    def space(self, height_mm):
        from reportlab.lib.units import mm
        from reportlab.platypus import Spacer

        return Spacer(1, height_mm * mm)

    def build(self, story):
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import SimpleDocTemplate

        buffer = io.BytesIO()
        margin = 15 * mm
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=margin,
            rightMargin=margin,
            topMargin=margin,
            bottomMargin=margin,
            title=self.title,
            author=self.author,
            pageCompression=0,  # texte lisible par les outils de contrôle
        )
        document.build(story)
        return buffer.getvalue()
