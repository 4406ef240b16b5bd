"""Graphiques du tableau de bord, dessinés côté serveur en SVG (aucun script : la politique de sécurité du
contenu n'en permet pas en ligne, et l'image se télécharge telle quelle).

Chaque graphique porte un titre et une description (``<title>``, ``<desc>``, ``role="img"``) et chaque
barre son propre ``<title>`` (valeur au survol) ; le tableau de données est affiché à côté dans la page et
se télécharge en CSV. Les couleurs sont celles du système de design de l'État (bleu France, rouge
Marianne), avec un contraste suffisant sur fond blanc.
"""

import math

from django.utils.html import escape
from django.utils.safestring import mark_safe

from parcours.core.text import plural

from .cohort_figures import (
    DELAY_FIGURES,
    PATHWAY_FIGURES,
    PATHWAY_LABELS,
    funnel,
    orientation_delay_histogram,
)
from .definitions import DELAY_BUCKET_LABELS, NOT_ORIENTED

BLUE = "#000091"
BLUE_LIGHT = "#6a6af4"
RED = "#e1000f"
GREY = "#666666"
TEXT = "#161616"
FONT = "Marianne, Arial, sans-serif"

WIDTH = 720


def _fr(value, decimals=1):
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    if decimals and text.endswith(",0"):
        text = text[:-2]
    return text


def _nice_max(value):
    """Borne haute de l'axe : 1, 2, 2,5 ou 5 × 10^n au-dessus de ``value`` (au moins 1)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _svg(chart_id, title, desc, width, height, body):
    """Document SVG autonome (utilisable en ligne dans la page ou téléchargé)."""
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="parcours-chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{chart_id}-titre {chart_id}-desc" font-family="{FONT}" font-size="12" '
        f'data-graphique="{chart_id}">'
        f'<title id="{chart_id}-titre">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        f"{''.join(body)}</svg>"
    )


def _text(x, y, content, *, anchor="start", fill=TEXT, size=None, weight=None):
    attrs = f' font-size="{size}"' if size else ""
    attrs += f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{attrs}>{escape(content)}</text>'
    )


def bar_chart(chart_id, title, desc, rows, *, color=BLUE_LIGHT):
    """Barres horizontales : ``rows`` = [{"label", "count", "percent"}] (part en % ou None)."""
    label_width, value_width, row_height, top = 230, 130, 34, 12
    height = top + row_height * max(len(rows), 1) + 8
    bar_area = WIDTH - label_width - value_width
    top_value = max([r["count"] for r in rows] + [0])
    scale = bar_area / top_value if top_value else 0
    body = []
    for index, r in enumerate(rows):
        y = top + index * row_height
        width = r["count"] * scale
        value = _fr(r["count"], 0)
        if r.get("percent") is not None:
            value += f" ({_fr(r['percent'])}\u202f%)"
        body.append(_text(label_width - 8, y + 20, r["label"], anchor="end"))
        body.append(
            f'<rect x="{label_width}" y="{y + 6}" width="{width:.1f}" height="{row_height - 12}" '
            f'fill="{color}"><title>{escape(r["label"])} : {escape(value)}</title></rect>'
        )
        body.append(_text(label_width + width + 6, y + 20, value, weight="bold"))
    body.append(f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - 8}" stroke="{GREY}"/>')
    return _svg(chart_id, title, desc, WIDTH, height, body)


def monthly_chart(series, *, target_label="dans les 15 jours"):
    """Nouveaux entrants par mois de T0 (barres, axe de gauche) et part orientée dans l'objectif (ligne, axe
    de droite, 0 à 100 %). ``series`` : série mensuelle de ``indicators_and_series``."""
    left, right, top, bottom, height = 56, 56, 36, 44, 300
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    count = max(len(series), 1)
    step = plot_w / count
    top_value = _nice_max(max([m["nouveaux_entrants"] for m in series] + [0]))
    body = [
        f'<rect x="{left}" y="10" width="12" height="12" fill="{BLUE_LIGHT}"/>',
        _text(left + 18, 20, "Nouveaux entrants (axe de gauche)"),
        f'<line x1="{left + 260}" y1="16" x2="{left + 284}" y2="16" stroke="{RED}" stroke-width="3"/>',
        f'<circle cx="{left + 272}" cy="16" r="3.5" fill="{RED}"/>',
        _text(left + 290, 20, f"Part orientée {target_label} (axe de droite)"),
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#dddddd"/>')
        body.append(_text(left - 6, y + 4, _fr(top_value * fraction), anchor="end", fill=GREY))
        body.append(_text(left + plot_w + 6, y + 4, f"{_fr(fraction * 100, 0)}\u202f%", fill=GREY))
    label_every = max(1, math.ceil(count / 12))
    points = []
    for index, month in enumerate(series):
        x = left + index * step
        n = month["nouveaux_entrants"]
        bar_h = plot_h * n / top_value
        rate = month["taux_orientation_15j"]
        rate_text = "—" if rate is None else f"{_fr(rate * 100)}\u202f%"
        tooltip = (
            f"{month['mois']} : {n} nouveaux entrants, {month['nouveaux_entrants_orientes_15j']} "
            f"orientés {target_label} ({rate_text})"
        )
        body.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - bar_h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{bar_h:.1f}" fill="{BLUE_LIGHT}" data-mois="{escape(month["mois"])}" '
            f'data-valeur="{n}"><title>{escape(tooltip)}</title></rect>'
        )
        if index % label_every == 0:
            year, _, mm = month["mois"].partition("-")
            body.append(
                _text(x + step / 2, top + plot_h + 16, f"{mm}/{year[2:]}", anchor="middle", fill=TEXT)
            )
        points.append(None if rate is None else (x + step / 2, top + plot_h * (1 - rate), rate))
    segment = []
    for point in [*points, None]:
        if point is None:
            if len(segment) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in segment)
                body.append(f'<polyline points="{path}" fill="none" stroke="{RED}" stroke-width="2.5"/>')
            segment = []
        else:
            segment.append(point)
    for point in points:
        if point is not None:
            px, py, rate = point
            body.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{RED}">'
                f"<title>{_fr(rate * 100)}\u202f%</title></circle>"
            )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{GREY}"/>'
    )
    body.append(_text(left + plot_w / 2, height - 6, "Mois de T0", anchor="middle", fill=GREY))
    total = sum(m["nouveaux_entrants"] for m in series)
    desc = (
        f"Histogramme mensuel de {len(series)} mois : {plural(total, 'nouvel entrant', 'nouveaux entrants')} au total ; "
        "courbe de la part orientée dans l'objectif. Les valeurs sont dans le tableau qui suit."
    )
    return _svg(
        "serie-mensuelle",
        "Nouveaux entrants par mois et part orientée dans l'objectif",
        desc,
        WIDTH,
        height,
        body,
    )


def describe_rows(rows):
    """Description textuelle d'une répartition (pour ``<desc>``)."""
    parts = []
    for r in rows:
        part = f"{r['label']} : {r['count']}"
        if r.get("percent") is not None:
            part += f" ({_fr(r['percent'])} %)"
        parts.append(part)
    return " ; ".join(parts) + "."


# --- les graphiques du tableau de bord et leurs données ------------------------------------------------


def _rows(counts, labels, figures):
    total = sum(counts.values())
    return [
        {
            "key": key,
            "label": labels.get(key, key),
            "count": count,
            "percent": None if not total else round(count * 100 / total, 1),
            "figure": figures[key],
        }
        for key, count in counts.items()
    ]


def chart_data(series, counts):
    """Les tableaux de données des graphiques (mêmes lignes pour la page, l'image SVG et le CSV) ;
    ``series`` : la série mensuelle de ``indicators_and_series`` ; ``counts`` : les effectifs de
    ``cohort_figures.counted_conditions`` comptés par la base sur la même cohorte."""
    series = [dict(month) for month in series]
    for month in series:
        rate = month["taux_orientation_15j"]
        month["percent"] = None if rate is None else round(rate * 100, 1)
    # Comme ``repartition_parcours`` : « non orienté » regroupe tout ce qui n'a pas l'un des trois parcours.
    pathways = {key: counts[PATHWAY_FIGURES[key]] for key in PATHWAY_LABELS if key != NOT_ORIENTED}
    pathways[NOT_ORIENTED] = counts["nouveaux_entrants"] - sum(pathways.values())
    delays = {key: counts[figure] for key, figure in DELAY_FIGURES.items()}
    pathway_rows = _rows(pathways, PATHWAY_LABELS, PATHWAY_FIGURES)
    delay_rows = _rows({key: delays[key] for key in DELAY_BUCKET_LABELS}, DELAY_BUCKET_LABELS, DELAY_FIGURES)
    funnel_rows = funnel(counts)
    for r in funnel_rows:
        r["figure"] = r["key"]
    return {
        "serie-mensuelle": series,
        "parcours": pathway_rows,
        "delais": delay_rows,
        "delais-semaines": orientation_delay_histogram(counts),
        "tunnel": funnel_rows,
    }


CHARTS = {
    "serie-mensuelle": "Nouveaux entrants par mois et part orientée dans l'objectif",
    "parcours": "Répartition des nouveaux entrants par parcours",
    "delais": "Délais d'orientation depuis T0",
    "delais-semaines": "Délais d'orientation depuis T0, par semaine",
    "tunnel": "Du nouvel entrant au contrat",
}


def render_chart(chart, data):
    if chart == "serie-mensuelle":
        return monthly_chart(data)
    color = {"tunnel": BLUE, "delais-semaines": BLUE}.get(chart, BLUE_LIGHT)
    return bar_chart(chart, CHARTS[chart], describe_rows(data), data, color=color)


def chart_table(chart, data):
    """Tableau CSV d'un graphique : en-tête puis une ligne par barre (ou par mois)."""
    if chart == "serie-mensuelle":
        header = ["mois", "nouveaux_entrants", "nouveaux_entrants_orientes_15j", "taux_orientation_15j"]
        return [header] + [
            [
                m["mois"],
                m["nouveaux_entrants"],
                m["nouveaux_entrants_orientes_15j"],
                "" if m["taux_orientation_15j"] is None else round(m["taux_orientation_15j"], 4),
            ]
            for m in data
        ]
    header = ["modalité", "libellé", "nombre", "part (%)"]
    return [header] + [
        [r["key"], r["label"], r["count"], "" if r["percent"] is None else r["percent"]] for r in data
    ]
