"""Reads an OpenMetrics scrape on stdin with the prometheus-client package's parser (what a
Python scraper uses) and prints {family: {type, unit, samples}} as JSON. A scrape the parser
refuses raises, so the script exits non-zero with the reason on stderr."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

families = {
    family.name: {
        "type": family.type,
        "unit": family.unit,
        "samples": len(family.samples),
    }
    for family in text_string_to_metric_families(sys.stdin.read())
}
print(json.dumps(families))
