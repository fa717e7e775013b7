"""Dataset cards: a README.md with Hugging Face's YAML front matter, for a slice and for the works that
trained a model version. The licence is `other`, named and linked to its ODRL terms.

The front matter is written as JSON values, which YAML reads as they are: no YAML library is
needed to write it, and no title can break out of its string.
"""
import json
from dataclasses import dataclass, field

# The task categories of the Hugging Face hub, by the licence's declared model type and the media.
TASKS = {
    ("classifier", "image"): "image-classification",
    ("classifier", "video"): "video-classification",
    ("image_generation", "image"): "text-to-image",
    ("image_generation", "video"): "text-to-image",
    ("video_generation", "image"): "text-to-video",
    ("video_generation", "video"): "text-to-video",
    ("multimodal", "image"): "image-text-to-text",
    ("multimodal", "video"): "video-text-to-text",
}


def size_category(count):
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"),
                         (1_000_000_000, "100M<n<1B")):
        if count < limit:
            return label
    return "n>1T" if count >= 1_000_000_000_000 else "1B<n<10B"


def task_categories(model_types, kinds):
    tasks = sorted({TASKS.get((model_type, kind), "other") for model_type in model_types for kind in kinds})
    return tasks or ["other"]


@dataclass
class DatasetCard:
    pretty_name: str
    licence_name: str  # e.g. tessera-licence-12
    licence_link: str  # the ODRL terms
    item_count: int
    model_types: list
    kinds: list
    summary: str
    sections: list = field(default_factory=list)  # (heading, markdown)
    tags: list = field(default_factory=list)

    def front_matter(self):
        return {
            "pretty_name": self.pretty_name,
            "license": "other",
            "license_name": self.licence_name,
            "license_link": self.licence_link,
            "size_categories": [size_category(self.item_count)],
            "task_categories": task_categories(self.model_types, self.kinds),
            "tags": ["tessera", "licensed-data", *self.tags],
        }

    def text(self):
        lines = ["---"]
        for key, value in self.front_matter().items():
            if isinstance(value, list):
                lines.append(f"{key}:")
                lines.extend(f"- {json.dumps(item, ensure_ascii=False)}" for item in value)
            else:
                lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        lines += ["---", "", f"# {self.pretty_name}", "", self.summary, ""]
        for heading, body in self.sections:
            lines += [f"## {heading}", "", body, ""]
        return "\n".join(lines)


def slice_card(slice_, *, licensor_name, site_url, terms_url, croissant_url):
    licence = slice_.licence
    kinds = [slice_.filters["kind"]] if slice_.filters.get("kind") else list(licence.media_kinds or ["image", "video"])
    return DatasetCard(
        pretty_name=f"Tessera licence {licence.pk}, slice {slice_.number}",
        licence_name=f"tessera-licence-{licence.pk}",
        licence_link=terms_url,
        item_count=slice_.asset_count,
        model_types=[licence.model_type],
        kinds=kinds,
        tags=[slice_.phase],
        summary=(f"{slice_.asset_count:,} works licensed by {licensor_name} to {licence.organisation.name} for "
                 f"“{licence.project_title}”, granted in the {slice_.phase} phase."),
        sections=[
            ("Licence", f"Not an open licence: the works may be used only as licence {licence.pk} permits. "
                        f"Its terms, as ODRL 2.2: {terms_url}"),
            ("Selection", slice_.describe_selection()),
            ("Files", f"The manifests list every item with its sha256 and an expiring download link: "
                      f"manifest.jsonl, manifest.csv and Croissant 1.1 ({croissant_url})."),
            ("Consent and withdrawals", "Every contributor had opted in to AI training when the slice was built. "
                                        "A contributor who opts out later has their items marked withdrawn in the "
                                        "manifests; their downloads answer 410 Gone and copies must be deleted."),
            ("Provenance", f"Published by {licensor_name} ({site_url})."),
        ],
    )


def version_card(version, training, *, licensor_name, terms_urls, page_url=None):
    """The card of the licensed works that trained a model version. `terms_urls` maps licence id → ODRL URL."""
    total = training["total"]
    licences = [row["licence"] for row in training["licences"]]
    first = licences[0] if licences else None
    kinds = [kind for kind, key in (("image", "images"), ("video", "videos")) if total[key]] or ["image"]
    rows = "\n".join(
        f"| {row['licence'].pk} | {row['phase_label']} | {row['images']:,} | {row['videos']:,} | "
        f"{row['contributors']:,} | {row['left_out']:,} | {row['withdrawn_after']:,} |"
        for row in training["licences"])
    sections = [
        ("Licensed works", "| Licence | Phase | Images | Videos | Contributors | Left out (opted out before "
                           "training) | Withdrawn after training |\n|---|---|---|---|---|---|---|\n" + rows),
        ("Licences", "\n".join(f"- Licence {pk}: {url}" for pk, url in terms_urls.items()) or "None declared."),
        ("Training", f"Trained from {version.trained_from or 'an undeclared date'} to "
                     f"{version.trained_to or 'an undeclared date'}."),
    ]
    if page_url:
        sections.append(("Public page", page_url))
    return DatasetCard(
        pretty_name=f"Licensed training data of {version.versioned_name}",
        licence_name=f"tessera-licence-{first.pk}" if first else "tessera-licence",
        licence_link=terms_urls.get(first.pk, "") if first else "",
        item_count=total["works"],
        model_types=sorted({licence.model_type for licence in licences}) or ["other"],
        kinds=kinds,
        tags=total["phases"],
        summary=(f"{total['images']:,} images and {total['videos']:,} videos by {total['contributors']:,} "
                 f"contributors, licensed from {licensor_name} to {version.model.organisation.name}, trained "
                 f"{version.versioned_name}."),
        sections=sections,
    )
