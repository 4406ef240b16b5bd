import pytest
from django.urls import reverse

from parcours.accompaniment.models import (
    EmploymentCheck,
    Exit,
    HoursAdjustment,
    PersonAccount,
    PlannedActivity,
    Review,
    SanctionCase,
)
from parcours.accounts.models import User
from parcours.demo.territory import run_demo

pytestmark = pytest.mark.django_db


def test_demo_territory_has_people_at_every_step(client):
    summary = run_demo(beneficiaries=300, months=3, seed=7)
    assert summary["accompagnement_intensif"]["procedures"] == 8
    assert PlannedActivity.objects.exists() and HoursAdjustment.objects.count() == 4
    assert Review.objects.filter(kind="jalon").exists()
    steps = set(SanctionCase.objects.values_list("status", flat=True))
    assert steps == {
        "opened",
        "notice_sent",
        "observations",
        "referred",
        "opinion",
        "decided",
        "notified",
        "regularised",
    }
    assert Exit.objects.count() == 8 and EmploymentCheck.objects.filter(durable=True).count() == 2
    assert PersonAccount.objects.count() == 1
    # Volet 3 : avis des personnes (espace et lien) et des professionnels, freins levés, étapes commencées.
    from parcours.accompaniment.models import ProfessionalSurveyAnswer, SatisfactionAnswer
    from parcours.journal.models import Event

    assert set(SatisfactionAnswer.objects.values_list("channel", flat=True)) == {"espace", "lien"}
    assert ProfessionalSurveyAnswer.objects.exists()
    assert Event.objects.filter(kind="barrier_lifted").exists()
    assert PlannedActivity.objects.filter(kind="immersion", status="in_progress").exists()

    client.force_login(User.objects.get(email="orientation@demo.parcours.fr"))
    html = client.get(reverse("accompaniment:cases_in_progress")).content.decode()
    assert html.count("/accompagnement/procedures/") >= 8 and "absences non excusées" in html
    assert client.get(reverse("accompaniment:durable_checks_due")).status_code == 200
    client.force_login(User.objects.get(email="personne@demo.parcours.fr"))
    assert "Vos prochains rendez-vous" in client.get(reverse("accompaniment:my_space")).content.decode()
