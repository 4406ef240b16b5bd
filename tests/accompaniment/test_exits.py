import datetime

import pytest
from django.core.exceptions import ValidationError

from parcours.accompaniment import exits
from parcours.accompaniment.models import EmploymentContract, ExitReason
from parcours.beneficiaries.models import Beneficiary
from parcours.journal.models import Event
from tests.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db

D = datetime.date
STARTED = D(2026, 3, 2)


def job_exit(person, author, contract_type=EmploymentContract.CDD, months=6, started=STARTED):
    return exits.record_exit(
        person,
        author=author,
        reason=ExitReason.EMPLOYMENT,
        exited_on=started,
        employer="Transports Lebreton",
        job_title="Cariste",
        contract_type=contract_type,
        contract_months=months,
        job_started_on=started,
        weekly_hours="35",
    )


@pytest.mark.parametrize(
    "contract_type,months,durable",
    [
        ("cdi", None, True),
        ("independant", None, True),
        ("cdd", 6, True),
        ("cdd", 5, False),
        ("interim", 1, False),
        ("iae", 24, True),
        ("", None, False),
    ],
)
def test_durable_employment_definition(contract_type, months, durable):
    assert exits.is_durable(contract_type, months) is durable


def test_employment_exit_is_qualified(person, orientation_manager):
    exit_ = job_exit(person, orientation_manager)
    assert exit_.employer == "Transports Lebreton" and exit_.contract_months == 6
    event = Event.objects.get(beneficiary=person, kind="exited")
    assert event.payload["reason"] == "emploi" and event.payload["durable"] is True


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"employer": ""}, "employer"),
        ({"contract_type": ""}, "contract_type"),
        ({"contract_type": "cdd", "contract_months": None}, "contract_months"),
        ({"job_started_on": None}, "job_started_on"),
    ],
)
def test_employment_exit_needs_employer_contract_and_start(person, orientation_manager, fields, field):
    values = {
        "employer": "SARL Redon Logistique",
        "contract_type": "cdi",
        "contract_months": None,
        "job_started_on": D(2026, 3, 2),
        **fields,
    }
    with pytest.raises(ValidationError) as error:
        exits.record_exit(
            person, author=orientation_manager, reason="emploi", exited_on=D(2026, 3, 2), **values
        )
    assert field in error.value.message_dict


def test_other_reasons_drop_job_fields_and_other_needs_details(person, orientation_manager):
    exit_ = exits.record_exit(
        person, author=orientation_manager, reason=ExitReason.AAH, exited_on=D(2026, 4, 1), employer="ignoré"
    )
    assert exit_.employer == "" and exit_.get_reason_display() == "Autre prestation : AAH"
    with pytest.raises(ValidationError) as error:
        exits.record_exit(
            person, author=orientation_manager, reason=ExitReason.OTHER, exited_on=D(2026, 4, 1)
        )
    assert "details" in error.value.message_dict
    with pytest.raises(ValidationError):
        exits.record_exit(person, author=orientation_manager, reason="loterie", exited_on=D(2026, 4, 1))


def test_six_month_check_not_before_the_due_date(person, orientation_manager):
    exit_ = job_exit(person, orientation_manager)
    assert exits.durable_check_due_on(exit_) == D(2026, 9, 2)
    exits.record_employment_check(
        exit_,
        author=orientation_manager,
        on=D(2026, 4, 2),
        still_employed=True,
        contract_type="cdd",
        contract_months=6,
        notes="Premier mois réussi",
    )
    with pytest.raises(ValidationError) as error:
        exits.record_employment_check(
            exit_,
            author=orientation_manager,
            on=D(2026, 9, 1),
            still_employed=True,
            contract_type="cdd",
            contract_months=6,
            six_month=True,
        )
    assert "à partir du 02/09/2026" in error.value.message_dict["on"][0]
    check = exits.record_employment_check(
        exit_,
        author=orientation_manager,
        on=D(2026, 9, 2),
        still_employed=True,
        contract_type="cdi",
        six_month=True,
    )
    assert check.durable is True
    with pytest.raises(ValidationError, match="déjà été enregistrée"):
        exits.record_employment_check(
            exit_,
            author=orientation_manager,
            on=D(2026, 9, 3),
            still_employed=True,
            contract_type="cdi",
            six_month=True,
        )
    assert Event.objects.filter(beneficiary=person, kind="employment_checked").count() == 2


def test_six_month_check_short_contract_or_job_lost_is_not_durable(person, orientation_manager, departement):
    exit_ = job_exit(person, orientation_manager, contract_type="interim", months=1)
    check = exits.record_employment_check(
        exit_,
        author=orientation_manager,
        on=D(2026, 9, 2),
        still_employed=True,
        contract_type="interim",
        contract_months=2,
        six_month=True,
    )
    assert check.durable is False
    other = BeneficiaryFactory(departement=departement)
    exit2 = job_exit(other, orientation_manager, contract_type="cdi", months=None)
    check = exits.record_employment_check(
        exit2,
        author=orientation_manager,
        on=D(2026, 9, 10),
        still_employed=False,
        contract_type="cdi",
        six_month=True,
    )
    assert check.durable is False and check.contract_type == ""
    assert exits.durable_employment_rate(D(2026, 1, 1), D(2026, 12, 31)) == (0, 2)


def test_check_needs_a_job_and_contract_type(person, orientation_manager):
    moved = exits.record_exit(
        person, author=orientation_manager, reason="demenagement", exited_on=D(2026, 4, 1)
    )
    with pytest.raises(ValidationError, match="seulement après une sortie en emploi"):
        exits.record_employment_check(
            moved, author=orientation_manager, on=D(2026, 5, 1), still_employed=True
        )
    exit_ = job_exit(person, orientation_manager)
    with pytest.raises(ValidationError) as error:
        exits.record_employment_check(
            exit_, author=orientation_manager, on=D(2026, 5, 1), still_employed=True
        )
    assert "contract_type" in error.value.message_dict


def test_checks_due_and_indicators(person, orientation_manager, departement):
    early = job_exit(person, orientation_manager, started=D(2026, 2, 2))
    late = job_exit(BeneficiaryFactory(departement=departement), orientation_manager, started=D(2026, 5, 4))
    scope = Beneficiary.objects.all()
    assert exits.durable_checks_due(scope, D(2026, 8, 2)) == [early]
    assert exits.durable_checks_due(scope, D(2026, 11, 4)) == [early, late]
    exits.record_employment_check(
        early,
        author=orientation_manager,
        on=D(2026, 8, 3),
        still_employed=True,
        contract_type="cdd",
        contract_months=12,
        six_month=True,
    )
    assert exits.durable_checks_due(scope, D(2026, 11, 4)) == [late]
    assert exits.durable_employment_rate(D(2026, 1, 1), D(2026, 12, 31)) == (1, 1)
    counts = exits.exit_counts(D(2026, 1, 1), D(2026, 12, 31))
    assert counts == {"par_motif": {"emploi": 2}, "emploi_par_contrat": {"cdd": 2}}
