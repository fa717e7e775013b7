"""Which works trained which model: declarations, supersession, release, provenance both ways."""
import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Count, Q

from licensing.models import (
    AuditEvent,
    DeclaredItem,
    SliceItem,
    TrainingDeclaration,
)
from licensing.selectors.ai_models import (
    models_trained_on,
    version_contributors,
    version_slices,
    version_training,
)
from licensing.services.ai_models import (
    ModelRefused,
    ai_model_publish,
    ai_model_register,
    model_version_add,
    model_version_release,
    training_declaration_remove,
    training_declare,
)
from licensing.services.contributors import contributor_set_opt_out
from tests.licensing.ai_model_world import licensee_world, ready_slice
from tests.licensing.factories import catalogue, research_licence


@pytest.fixture
def world(org_a, alice):
    return licensee_world(org_a, alice)


def declare(world, **kwargs):
    return training_declare(version=world.version, by=world.owner, slice_id=world.slice.pk, **kwargs)


# Declarations

def test_a_whole_slice_declaration_counts_every_item_of_the_slice(world):
    declaration = declare(world)

    assert declaration.whole_slice and declaration.item_count == 8 and declaration.left_out_count == 0
    assert DeclaredItem.objects.count() == 0  # a whole slice needs no item rows
    total = version_training(version=world.version)["total"]
    assert (total["images"], total["videos"], total["contributors"]) == (6, 2, 2)
    assert total["video_hours"] == 0.05  # two 90 s videos
    assert total["phases"] == ["research"]
    assert AuditEvent.objects.filter(action="training.declare", target_id=str(declaration.pk)).exists()


def test_a_subset_declaration_stores_exactly_the_listed_items(world):
    listed = [world.images[0].pk, world.images[2].pk, world.videos[1].pk]

    declaration = declare(world, asset_ids=listed + [listed[0]])  # a repeated id counts once

    assert not declaration.whole_slice and declaration.item_count == 3
    stored = set(DeclaredItem.objects.filter(declaration=declaration).values_list("slice_item__asset_id", flat=True))
    assert stored == set(listed)
    total = version_training(version=world.version)["total"]
    assert (total["images"], total["videos"], total["contributors"]) == (2, 1, 2)


def test_ids_outside_the_slice_are_refused_and_listed_first_twenty_then_a_count(world):
    outsiders = [asset.pk for asset in catalogue(25)]

    with pytest.raises(ModelRefused) as refusal:
        declare(world, asset_ids=[world.images[0].pk, *outsiders])

    message = str(refusal.value)
    assert message.startswith("Nothing was declared: 25 asset ids are not in slice 1 of licence")
    assert ", ".join(str(i) for i in outsiders[:20]) + " and 5 more" in message
    assert str(outsiders[20]) not in message
    assert refusal.value.fields["asset_ids"]["not_in_slice"] == outsiders[:20]
    assert refusal.value.fields["asset_ids"]["not_in_slice_count"] == 25
    assert TrainingDeclaration.objects.count() == 0 and DeclaredItem.objects.count() == 0


def test_withdrawn_items_are_refused_and_named(world):
    contributor_set_opt_out(contributor=world.ben, opted_out=True)

    with pytest.raises(ModelRefused) as refusal:
        declare(world, asset_ids=[world.images[0].pk, world.videos[0].pk, world.videos[1].pk])

    assert (f"2 assets were withdrawn at their contributors’ request and cannot be declared: "
            f"{world.videos[0].pk}, {world.videos[1].pk}.") in str(refusal.value)
    assert TrainingDeclaration.objects.count() == 0


def test_another_organisations_slice_cannot_be_declared(world, org_b, bob):
    theirs = ready_slice(research_licence(organisation=org_b, applicant=bob, max_assets=100, max_slices=5,
                                          max_bytes=10**12), bob, 2, seed=3)

    with pytest.raises(ModelRefused, match=f"Your organisation has no slice {theirs.pk}"):
        training_declare(version=world.version, by=world.owner, slice_id=theirs.pk)
    assert TrainingDeclaration.objects.count() == 0


def test_a_slice_is_declared_once_per_version_unless_superseded(world):
    declare(world)

    with pytest.raises(ModelRefused, match="already declares slice 1 .* supersede that declaration"):
        declare(world)


def test_a_correction_supersedes_the_old_declaration_and_both_are_kept(world):
    old = declare(world)
    new = declare(world, asset_ids=[world.images[0].pk], supersedes_id=old.pk, note="only one photo was used")

    assert set(TrainingDeclaration.objects.values_list("pk", flat=True)) == {old.pk, new.pk}
    old.refresh_from_db()
    assert old.superseded_by == new
    total = version_training(version=world.version)["total"]
    assert (total["images"], total["videos"], total["contributors"]) == (1, 0, 1)
    with pytest.raises(ModelRefused, match=f"Declaration {old.pk} was already superseded"):
        declare(world, supersedes_id=old.pk)


def test_a_whole_slice_leaves_out_works_withdrawn_before_the_declaration_and_counts_later_withdrawals(world):
    contributor_set_opt_out(contributor=world.ben, opted_out=True)  # before: his 2 videos are left out
    declaration = declare(world)
    contributor_set_opt_out(contributor=world.ann, opted_out=True)  # after: her 6 photos were trained on

    assert (declaration.item_count, declaration.left_out_count) == (6, 2)
    total = version_training(version=world.version)["total"]
    assert (total["images"], total["videos"], total["left_out"], total["withdrawn_after"]) == (6, 0, 2, 6)


# Release

def test_release_needs_a_declaration(world):
    with pytest.raises(ModelRefused, match="declares no slice yet"):
        model_version_release(version=world.version, by=world.owner)
    world.version.refresh_from_db()
    assert not world.version.released


def test_a_released_versions_declarations_cannot_be_changed_or_removed(world):
    declaration = declare(world)
    model_version_release(version=world.version, by=world.owner)

    with pytest.raises(ModelRefused, match="is released: its declarations are kept"):
        training_declaration_remove(declaration=declaration, by=world.owner)
    with pytest.raises(ValidationError, match="append-only"):
        declaration.note = "changed"
        declaration.save()
    for statement in (lambda: TrainingDeclaration.objects.filter(pk=declaration.pk).update(note="x"),
                      lambda: TrainingDeclaration.objects.filter(pk=declaration.pk).delete()):
        with pytest.raises(DatabaseError, match="training declarations"), transaction.atomic():
            statement()
    assert TrainingDeclaration.objects.get(pk=declaration.pk).note == ""
    with pytest.raises(ModelRefused, match="already released"):
        model_version_release(version=world.version, by=world.owner)


def test_before_release_a_declaration_can_be_taken_back(world):
    declaration = declare(world, asset_ids=[world.images[0].pk])

    training_declaration_remove(declaration=declaration, by=world.owner)

    assert TrainingDeclaration.objects.count() == 0 and DeclaredItem.objects.count() == 0


def test_a_private_model_cannot_release_a_version_trained_under_a_public_disclosure_duty(world):
    world.licence.offer_disclosure = "public"
    world.licence.save(update_fields=["offer_disclosure"])
    declare(world)

    with pytest.raises(ModelRefused) as refusal:
        model_version_release(version=world.version, by=world.owner)

    assert str(refusal.value) == (
        f"Version 1.0 cannot be released while Street Segmenter is private: licence {world.licence.pk} "
        f"(“{world.licence.project_title}”) requires a public model page for every model trained on its works. "
        "Make the model public, then release.")
    world.version.refresh_from_db()
    assert not world.version.released
    ai_model_publish(model=world.model, by=world.owner)
    assert model_version_release(version=world.version, by=world.owner).released


def test_licensor_only_disclosure_lets_a_private_model_release(world):
    world.licence.offer_disclosure = "licensor"
    world.licence.save(update_fields=["offer_disclosure"])
    declare(world)

    assert model_version_release(version=world.version, by=world.owner).released


def test_model_slugs_are_unique_per_organisation_only(world, org_b, bob):
    with pytest.raises(ModelRefused, match="already has a model at “street-segmenter”"):
        ai_model_register(organisation=world.org, by=world.owner, name="Street Segmenter", modality="image",
                          purpose="")
    assert ai_model_register(organisation=org_b, by=bob, name="Street Segmenter", modality="image",
                             purpose="").slug == "street-segmenter"
    with pytest.raises(ModelRefused, match="already has a version 1.0"):
        model_version_add(model=world.model, by=world.owner, label="1.0")


# Provenance both ways

def test_a_contributor_sees_each_released_version_trained_on_their_works(world):
    declare(world, asset_ids=[world.images[0].pk, world.images[1].pk, world.videos[0].pk])
    unreleased = model_version_add(model=world.model, by=world.owner, label="2.0")
    training_declare(version=unreleased, by=world.owner, slice_id=world.slice.pk)
    model_version_release(version=world.version, by=world.owner)

    (row,) = models_trained_on(contributor=world.ann)  # 2.0 is not released: not shown
    assert row["works"] == 2 and row["phase"] == "research" and row["licensee"] == "Acme Vision"
    assert row["model_name"] == "a private model of Acme Vision" and row["version_label"] is None
    (ben_row,) = models_trained_on(contributor=world.ben)
    assert ben_row["works"] == 1


def test_a_private_model_is_named_when_its_licence_requires_public_disclosure(world):
    declare(world)
    model_version_release(version=world.version, by=world.owner)
    world.licence.offer_disclosure = "public"  # a later commercial offer with a public duty
    world.licence.save(update_fields=["offer_disclosure"])

    (row,) = models_trained_on(contributor=world.ann)
    assert (row["model_name"], row["version_label"], row["model_url"]) == ("Street Segmenter", "1.0", None)


def test_a_version_leads_back_to_its_slices_and_contributors(world):
    declare(world, asset_ids=[asset.pk for asset in world.images[:4]] + [world.videos[0].pk])

    assert [(row["slice"].pk, row["items"]) for row in version_slices(version=world.version)] == [(world.slice.pk, 5)]
    assert [(row["contributor"], row["works"]) for row in version_contributors(version=world.version)] == [
        (world.ann, 4), (world.ben, 1)]


def test_counts_equal_the_database_across_two_licences(world):
    other_licence = research_licence(organisation=world.org, applicant=world.owner, max_assets=100, max_slices=5,
                                     max_bytes=10**12)
    extra = catalogue(3, contributor=world.ann)
    second = ready_slice(other_licence, world.owner, 11, seed=5)
    declare(world)
    training_declare(version=world.version, by=world.owner, slice_id=second.pk)

    training = version_training(version=world.version)
    expected = SliceItem.objects.filter(slice__in=[world.slice, second]).aggregate(
        images=Count("asset_id", distinct=True, filter=Q(asset__kind="image")),
        videos=Count("asset_id", distinct=True, filter=Q(asset__kind="video")),
        contributors=Count("asset__contributor_id", distinct=True))
    total = training["total"]
    assert {key: total[key] for key in expected} == expected == {"images": 9, "videos": 2, "contributors": 2}
    assert len(extra) == 3
    assert [row["licence"] for row in training["licences"]] == [world.licence, other_licence]
    assert [row["images"] + row["videos"] for row in training["licences"]] == [8, 11]
