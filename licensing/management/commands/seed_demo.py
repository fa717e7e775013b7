"""Demo data: one account per role, a start-up, contributors and a catalogue of real files, collections,
and a studio deal: a film studio's collection licensed exclusively to one company for a custom model.

Running it again changes nothing that is already there: users, contributors, assets and collections are
found by their natural keys, files are only written when missing, and the deal is made once.
"""
import hashlib
import io
import random

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER, sync_role_groups
from licensing.models import Asset, Collection, Contributor, ContributorConsentChange, Rightsholder, SliceItem
from licensing.services.ai_models import (
    ai_model_register,
    model_version_add,
    model_version_release,
    training_declare,
)
from licensing.services.previews import previews_schedule
from licensing.services.slices import slice_build, slice_request

DEMO_PASSWORD = "tessera-demo"

FIRST = ["Ana", "Bruno", "Chiara", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas",
         "Kaia", "Luca", "Mira", "Nils", "Olu", "Priya", "Quentin", "Rosa", "Sven", "Tara",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf"]
LAST = ["Ribeiro", "Okafor", "Lindqvist", "Moreau", "Tanaka"]
SUBJECTS = ["harbour", "forest", "street", "market", "mountain", "kitchen", "workshop", "beach", "city",
            "garden", "river", "desert", "studio", "train", "bridge", "festival", "snow", "field"]
IMAGE_SIZES = [(320, 240), (480, 320), (640, 480), (800, 600), (1024, 768), (1280, 720)]
VIDEO_SIZES = [(160, 120), (320, 240)]


def contributor_name(n):
    return f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]}"


def render_image(rng, width, height, fmt):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(20, width // 2 + 21), y0 + rng.randrange(20, height // 2 + 21)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0, y0, x1, y1], fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 70} if fmt == "JPEG" else {"optimize": False}))
    return out.getvalue()


def render_video(rng, width, height, frames, fps):
    """A short MPEG-4 clip in an MP4 container, encoded by PyAV (FFmpeg)."""
    import av
    from PIL import Image, ImageDraw

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        background = tuple(rng.randrange(256) for _ in range(3))
        foreground = tuple(255 - c for c in background)
        for i in range(frames):
            image = Image.new("RGB", (width, height), background)
            x = (i * 7) % max(1, width - 40)
            ImageDraw.Draw(image).rectangle([x, height // 3, x + 40, height // 3 + 40], fill=foreground)
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


class Command(BaseCommand):
    help = "Load the demo accounts, organisation and catalogue (idempotent; DEBUG only unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument("--contributors", type=int, default=50)
        parser.add_argument("--assets", type=int, default=2000)
        parser.add_argument("--video-share", type=float, default=0.1, help="Share of assets that are videos.")

    def handle(self, *args, force, contributors, assets, video_share, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates accounts with a known password: it runs only with DEBUG on, or with --force.")
        sync_role_groups()
        with transaction.atomic():
            users = self.seed_accounts()
        contributor_rows = self.seed_contributors(contributors, users["contributor"])
        created = self.seed_assets(contributor_rows, assets, video_share)
        self.seed_licences(users)
        # Before the start-up's model: its research slice then leaves the studio's exclusive works out.
        studio_collection = self.seed_collections(users, contributor_rows)
        self.seed_studio_deal(users, studio_collection)
        self.seed_ai_model(users)
        self.seed_language_applicants()
        self.stdout.write(
            f"Demo data ready: {User.objects.filter(email__endswith='@demo.example').count()} demo accounts, "
            f"{len(contributor_rows)} contributors, {created} new assets "
            f"({Asset.objects.filter(storage_key__startswith='demo/').count()} demo assets in all), "
            f"{Collection.objects.count()} collections. Password for every demo account: {DEMO_PASSWORD}"
        )

    def seed_accounts(self):
        users = {}
        for key, email, name, group in [
            ("applicant", "applicant@demo.example", "Alex Applicant", None),
            ("reviewer", "reviewer@demo.example", "Rita Reviewer", REVIEWER),
            ("admin", "admin@demo.example", "Adam Admin", LICENSOR_ADMIN),
            ("finance", "finance@demo.example", "Fiona Finance", FINANCE),
            ("contributor", "contributor@demo.example", "Ana Ribeiro", None),
            ("studio", "studio@demo.example", "Sam Studio", None),
            ("deals", "deals@demo.example", "Dana Deals", None),
        ]:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name)
            if group:
                user.groups.add(Group.objects.get(name=group))
            if key == "admin" and not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            users[key] = user
        organisation, _ = Organisation.objects.get_or_create(
            slug="lumen-labs",
            defaults={
                "name": "Lumen Labs",
                "legal_name": "Lumen Labs GmbH",
                "country": "DE",
                "vat_id": "DE123456789",
                "billing_address": "Torstraße 1\n10119 Berlin\nGermany",
                "website": "https://lumen-labs.example",
                "kind": Organisation.Kind.STARTUP,
            },
        )
        Membership.objects.get_or_create(
            user=users["applicant"], defaults={"organisation": organisation, "role": Membership.Role.OWNER}
        )
        for key, slug, name, kind, address, vat in [
            ("studio", "lighthouse-films", "Lighthouse Films", Organisation.Kind.STUDIO,
             "Rua do Farol 7\n1100-001 Lisboa\nPortugal", "PT123456789"),
            ("deals", "northwind-pictures", "Northwind Pictures", Organisation.Kind.COMPANY,
             "Keizersgracht 100\n1015 CV Amsterdam\nNetherlands", "NL123456789B01"),
        ]:
            other, _ = Organisation.objects.get_or_create(slug=slug, defaults={
                "name": name, "legal_name": f"{name} B.V." if kind == Organisation.Kind.COMPANY else f"{name} Lda.",
                "country": slug == "lighthouse-films" and "PT" or "NL", "vat_id": vat, "billing_address": address,
                "website": f"https://{slug}.example", "kind": kind,
            })
            Membership.objects.get_or_create(user=users[key], defaults={"organisation": other,
                                                                        "role": Membership.Role.OWNER})
        return users

    def seed_collections(self, users, contributors):
        """Three collections. The studio's holds demo videos (granted to no licence yet), each held 70% by the
        studio and 30% by its contributor; two contributors have a portfolio of photos each. Returns the
        studio's collection."""
        studio = users["studio"].membership.organisation
        demo = Asset.objects.filter(storage_key__startswith="demo/", collection__isnull=True).order_by("storage_key")
        granted = SliceItem.objects.filter(withdrawn_at__isnull=True).values("asset_id")
        films, created = Collection.objects.get_or_create(name="Lighthouse Films archive", defaults={
            "owner_organisation": studio,
            "description": "The studio's short films and footage, licensed as a whole."})
        if created:
            works = list(demo.filter(kind=Asset.Kind.VIDEO).exclude(pk__in=granted)[:60]) or \
                list(demo.exclude(pk__in=granted)[:1])
            Asset.objects.filter(pk__in=[w.pk for w in works]).update(collection=films)
            Rightsholder.objects.bulk_create(
                [Rightsholder(asset=w, organisation=studio, share_bp=7000) for w in works]
                + [Rightsholder(asset=w, contributor_id=w.contributor_id, share_bp=3000) for w in works])
        for owner, name, subjects in [
            (contributors[0], "Coast and harbour", ["Harbour", "Beach", "River"]),
            (contributors[min(1, len(contributors) - 1)], "City life", ["Street", "Market", "City", "Train", "Bridge"]),
        ]:
            portfolio, created = Collection.objects.get_or_create(name=name, defaults={
                "owner_contributor": owner, "description": f"Photos by {owner.display_name}."})
            if created:
                photos = demo.filter(kind=Asset.Kind.IMAGE, title__regex=rf"^({'|'.join(subjects)}) ")[:60]
                Asset.objects.filter(pk__in=[p.pk for p in photos]).update(collection=portfolio)
        return films

    def seed_studio_deal(self, users, films):
        """Northwind Pictures' commercial licence: an offer covering the studio's whole collection,
        exclusive for two years and restricted to a custom model, accepted and paid, so that the collection
        is granted as one slice and the studio is credited its share of the royalties."""
        from licensing.services import licences as services
        from licensing.services.billing import commercial_invoice_issue, payment_record
        from licensing.services.royalties import royalty_pool_create
        from licensing.services.slices import slice_grant_collections

        organisation = users["deals"].membership.organisation
        if organisation.licences.exists():
            return
        buyer, admin = users["deals"], users["admin"]
        licence = services.licence_create_draft(
            organisation=organisation, by=buyer, accept_terms=True, project_title="Lighthouse film restoration",
            description="Restoring and upscaling the studio's archive footage.",
            intended_use="Train a restoration model on the studio's films, for the studio.",
            model_type="video_generation", media_kinds=["video"], estimated_volume=200, team_size=12,
            funding_stage="series_a")
        services.licence_submit(licence=licence, by=buyer)
        licence = services.licence_approve(licence=licence, by=users["reviewer"], max_assets=500,
                                           max_bytes=1024**3, max_slices=5, duration_days=30, note="Approved.")
        licence = services.licence_request_upgrade(
            licence=licence, by=buyer, intended_use="A restoration model made for Lighthouse Films only.",
            expected_scale="The whole archive")
        licence = services.licence_make_offer(
            licence=licence, by=admin, fee="48000.00", currency="EUR", billing_period="one_off", term_months=24,
            scope="Train one custom restoration model for Lighthouse Films", territory="Worldwide",
            coverage="collections", collections=[films], exclusive=True,
            custom_model="Lighthouse Restore (for Lighthouse Films)")
        licence = services.licence_accept_offer(licence=licence, by=buyer)
        invoice = commercial_invoice_issue(licence_id=licence.pk)
        if invoice is None:
            return
        invoice.refresh_from_db()
        payment = invoice.payments.first() or payment_record(
            invoice=invoice, by=users["finance"], amount=invoice.balance, received_on=timezone.now().date(),
            reference="DEMO-NORTHWIND-1")
        # What the payment's jobs do (they may have run in-process already: both are idempotent).
        slice_grant_collections(licence_id=licence.pk)
        royalty_pool_create(payment_id=payment.pk)

    def seed_licences(self, users):
        """Two licences for the demo start-up, made through the workflow so their timelines are real:
        one application waiting for review, one active research licence."""
        from licensing.services import licences as services

        organisation = users["applicant"].membership.organisation
        if organisation.licences.exists():
            return
        application = {
            "description": "Detecting products on supermarket shelves from phone photos.",
            "intended_use": "Train and evaluate a detection model on a few thousand images.",
            "model_type": "classifier",
            "media_kinds": ["image"],
            "estimated_volume": 3000,
            "team_size": 5,
            "funding_stage": "seed",
        }
        waiting = services.licence_create_draft(
            organisation=organisation, by=users["applicant"], accept_terms=True,
            project_title="Retail shelf detection", **application,
        )
        services.licence_submit(licence=waiting, by=users["applicant"])
        active = services.licence_create_draft(
            organisation=organisation, by=users["applicant"], accept_terms=True,
            project_title="Urban scenes research",
            **{**application, "description": "Scene understanding for city footage.", "media_kinds": ["image", "video"]},
        )
        services.licence_submit(licence=active, by=users["applicant"])
        services.licence_approve(licence=active, by=users["reviewer"], max_assets=500, max_bytes=200 * 1024**2,
                                 max_slices=5, duration_days=90, note="Welcome aboard.")

    # One applicant per language Tessera speaks besides English (Alex Applicant's), each with a start-up
    # of their own and an application written in their language, waiting for review: they see every
    # page, e-mail and invoice in their language, and reviewers see applications as they arrive.
    LANGUAGE_APPLICANTS = [
        ("de", "antragsteller@demo.example", "Lena Wagner", "bildwerk-ki", "Bildwerk KI", "DE",
         "Marienplatz 8\n80331 München\nDeutschland", "Erkennung von Verkehrsschildern",
         "Verkehrsschilder auf Fotos aus Dashcams erkennen und einordnen."),
        ("it", "richiedente@demo.example", "Giulia Romano", "visione-dati", "Visione Dati", "IT",
         "Via Roma 12\n20121 Milano\nItalia", "Riconoscimento di opere d'arte",
         "Riconoscere dipinti e sculture nelle foto dei visitatori dei musei."),
        ("ar", "mutaqaddim@demo.example", "ليلى حداد", "ruya-data", "رؤية للبيانات", "AE",
         "شارع الشيخ زايد ١٠\nدبي\nالإمارات العربية المتحدة", "التعرف على الخط العربي",
         "التعرف على أنماط الخط العربي في صور اللافتات والمخطوطات."),
    ]

    def seed_language_applicants(self):
        from licensing.services import licences as services

        for language, email, name, slug, org_name, country, address, title, description in self.LANGUAGE_APPLICANTS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name)
            if user.language != language:
                user.language = language
                user.save(update_fields=["language"])
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            organisation, _ = Organisation.objects.get_or_create(slug=slug, defaults={
                "name": org_name, "legal_name": org_name, "country": country, "billing_address": address,
                "website": f"https://{slug}.example", "kind": Organisation.Kind.STARTUP,
            })
            Membership.objects.get_or_create(user=user, defaults={"organisation": organisation,
                                                                  "role": Membership.Role.OWNER})
            if organisation.licences.exists():
                continue
            application = services.licence_create_draft(
                organisation=organisation, by=user, accept_terms=True, project_title=title, description=description,
                intended_use=description, model_type="classifier", media_kinds=["image"], estimated_volume=2000,
                team_size=3, funding_stage="pre_seed",
            )
            services.licence_submit(licence=application, by=user)

    def seed_ai_model(self, users):
        """A public model trained on a slice of the active research licence, its version released: the
        model page, the contributor's "models trained on my works" and the EU summary have something to show."""
        organisation = users["applicant"].membership.organisation
        licence = organisation.licences.filter(state="research_active").first()
        if licence is None or organisation.ai_models.exists():
            return
        size = min(40, Asset.objects.count())
        if size == 0:
            return
        slice_ = slice_request(licence=licence, by=users["applicant"], size=size, seed=42)
        slice_build(slice_id=slice_.pk)  # built already where jobs run in-process; a no-op then
        slice_.refresh_from_db()
        if slice_.status != "ready":
            return
        model = ai_model_register(organisation=organisation, by=users["applicant"], name="Urban Scenes", modality="both",
                                  purpose="Scene understanding for city footage: a research model.", is_public=True)
        version = model_version_add(model=model, by=users["applicant"], label="0.1")
        training_declare(version=version, by=users["applicant"], slice_id=slice_.pk)
        model_version_release(version=version, by=users["applicant"])

    def seed_contributors(self, count, contributor_user):
        rows = []
        for n in range(count):
            contributor, created = Contributor.objects.get_or_create(
                display_name=contributor_name(n), defaults={"public_profile": n % 3 == 0}
            )
            if n == 0 and contributor.user_id is None:
                contributor.user = contributor_user
                contributor.public_profile = True
                contributor.save(update_fields=["user", "public_profile"])
            # One contributor in fifty has said no to AI training, about the real-world rate.
            if created and n % 50 == 49:
                now = timezone.now()
                contributor.opted_out, contributor.opt_out_changed_at = True, now
                contributor.save(update_fields=["opted_out", "opt_out_changed_at"])
                ContributorConsentChange.objects.create(
                    contributor=contributor, opted_out=True, changed_at=now, note="Opted out at sign-up."
                )
            rows.append(contributor)
        return rows

    def seed_assets(self, contributors, count, video_share):
        existing = set(Asset.objects.filter(storage_key__startswith="demo/").values_list("storage_key", flat=True))
        new_rows, rewritten = [], []
        for n in range(count):
            rng = random.Random(n)
            contributor = contributors[n % len(contributors)]
            is_video = rng.random() < video_share
            if is_video:
                width, height = rng.choice(VIDEO_SIZES)
                fps, frames = 12, rng.randrange(12, 49)
                key, mime, ext = f"demo/{n:05d}.mp4", "video/mp4", "mp4"
            else:
                width, height = rng.choice(IMAGE_SIZES)
                fmt = "PNG" if rng.random() < 0.25 else "JPEG"
                ext, mime = ("png", "image/png") if fmt == "PNG" else ("jpg", "image/jpeg")
                key = f"demo/{n:05d}.{ext}"
            if key in existing and default_storage.exists(key):
                continue
            data = (
                render_video(rng, width, height, frames, fps) if is_video else render_image(rng, width, height, fmt)
            )
            if default_storage.exists(key):
                default_storage.delete(key)
            default_storage.save(key, ContentFile(data))
            if key in existing:
                rewritten.append(key)
                continue
            subject = rng.choice(SUBJECTS)
            new_rows.append(
                Asset(
                    contributor=contributor,
                    kind=Asset.Kind.VIDEO if is_video else Asset.Kind.IMAGE,
                    title=f"{subject.capitalize()} {'clip' if is_video else 'photo'} {n + 1}",
                    tags=sorted({subject, rng.choice(SUBJECTS), "video" if is_video else "photo"}),
                    width=width,
                    height=height,
                    duration_seconds=round(frames / fps, 3) if is_video else None,
                    bytes=len(data),
                    mime_type=mime,
                    sha256=hashlib.sha256(data).hexdigest(),
                    storage_key=key,
                )
            )
        created = Asset.objects.bulk_create(new_rows, batch_size=500)
        # Changed files keep their row but get new previews; a file already previewed is not redone.
        previews_schedule(asset_ids=[row.pk for row in created] + sorted(
            Asset.objects.filter(storage_key__in=rewritten).values_list("pk", flat=True)))
        return len(new_rows)
