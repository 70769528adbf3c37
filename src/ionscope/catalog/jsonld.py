"""Sample histories and results as JSON-LD, with battery-domain ontology terms where they exist.

Terms used and their IRIs:

* EMMO battery domain context ``https://w3id.org/emmo/domain/battery/context`` (BattINFO): ``hasProperty``,
  ``ConventionalProperty``, ``hasNumericalPart``, ``RealData``, ``hasNumberValue`` — the pattern the
  domain-battery documentation uses for a measured property
  (https://emmo-repo.github.io/domain-battery/examples/example_linked_data_battery_cell_metadata.html).
* schema.org (``https://schema.org/``): ``Dataset``, ``name``, ``description``, ``identifier``,
  ``dateCreated``, ``unitText``, ``citation``, ``softwareVersion``, ``additionalProperty``,
  ``PropertyValue``, ``value``.
* W3C PROV-O (``http://www.w3.org/ns/prov#``): ``Entity``, ``Activity``, ``wasGeneratedBy``, ``used``.
* Terms without an ontology counterpart (preparation route, reliability tier, uncertainty) are in the
  ``ionscope:`` namespace ``urn:ionscope:term:`` so they stay distinguishable from ontology terms.

Units are written as ``schema:unitText`` (the ionscope unit text) because EMMO unit individuals are not
mapped for every unit ionscope uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EMMO_BATTERY_CONTEXT = "https://w3id.org/emmo/domain/battery/context"
CONTEXT: list[Any] = [EMMO_BATTERY_CONTEXT, {
    "schema": "https://schema.org/",
    "prov": "http://www.w3.org/ns/prov#",
    "ionscope": "urn:ionscope:term:",
}]


def _property(name: str, value: Any, unit: str | None = None, uncertainty: Any = None) -> dict[str, Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        prop: dict[str, Any] = {"@type": "ConventionalProperty", "schema:name": name,
                                "hasNumericalPart": {"@type": "RealData", "hasNumberValue": value}}
        if unit:
            prop["schema:unitText"] = unit
        if uncertainty is not None:
            prop["ionscope:standardUncertainty"] = uncertainty
        return prop
    return {"@type": "schema:PropertyValue", "schema:name": name, "schema:value": value}


def sample_jsonld(history: Mapping[str, Any], *, embed_context: bool = True) -> dict[str, Any]:
    """A sample history as a JSON-LD node: name and material as schema.org, every field a property."""
    node: dict[str, Any] = {"@type": ["prov:Entity", "ionscope:Sample"]}
    if embed_context:
        node = {"@context": CONTEXT, **node}
    if history.get("name"):
        node["schema:name"] = history["name"]
    if history.get("material"):
        node["schema:description"] = history["material"]
    props = []
    for key, value in history.items():
        if key in ("name",) or value is None:
            continue
        unit = None
        for suffix, u in (("_keV", "keV"), ("_pA", "pA"), ("_K", "K"), ("_s", "s"), ("_MPa", "MPa"),
                          ("_ions_per_cm2", "ions/cm^2")):
            if key.endswith(suffix):
                unit = u
                break
        props.append(_property(f"ionscope:{key}", value, unit))
    node["hasProperty"] = props
    return node


def result_jsonld(entry_id: int | None, doc: Mapping[str, Any], *, embed_context: bool = True) -> dict[str, Any]:
    """An ionscope result envelope as a JSON-LD dataset node with its sample, tier and provenance."""
    from ionscope.catalog.canonical import quantities

    rel = doc.get("reliability") or {}
    prov = doc.get("provenance") or {}
    node: dict[str, Any] = {
        "@type": ["schema:Dataset", "prov:Entity"],
        "schema:name": f"ionscope {str(doc.get('kind', '')).replace('.', ' ')} result",
        "schema:dateCreated": prov.get("created"),
        "ionscope:kind": doc.get("kind"),
        "ionscope:reliabilityTier": rel.get("tier", "unknown"),
        "ionscope:reliabilityReasons": [r.get("message") for r in rel.get("reasons", [])],
        "schema:citation": sorted({r.get("reference") for r in rel.get("reasons", []) if r.get("reference")}),
        "prov:wasGeneratedBy": {"@type": "prov:Activity", "schema:name": prov.get("operation"),
                                "schema:softwareVersion": doc.get("ionscope_version"),
                                "prov:used": [{"@type": "prov:Entity", "schema:name": i.get("path"),
                                               "schema:identifier": f"sha256:{i.get('sha256')}"}
                                              for i in doc.get("inputs", [])]},
        "hasProperty": [_property(path, value, unit, unc) for path, _, value, unc, unit in
                        quantities(doc.get("results"))],
    }
    if entry_id is not None:
        node["schema:identifier"] = f"ionscope-catalog:{entry_id}"
    if rel.get("sample"):
        node["ionscope:sample"] = sample_jsonld(rel["sample"], embed_context=False)
    if embed_context:
        node = {"@context": CONTEXT, **node}
    return node
