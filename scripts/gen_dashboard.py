#!/usr/bin/env python3
"""Writes dashboards/errno_exporter.json (Grafana, schema 39): `make dashboard`.

Panels are listed here once, as (type, title, description, unit, width, [(expr, legend)], links);
the layout, ids and datasource wiring are computed. Every expression is checked by the tests: valid
PromQL, and non-empty against a real Prometheus scraping a real agent (AlertLoopTests).
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEL = 'instance=~"$instance"'
COMM = 'comm=~"$comm"'
CAPTURES_LINK = [{"title": "Captures of ${__field.labels.trigger} on ${__field.labels.instance}",
                  "url": "http://${__field.labels.instance}/api/v1/captures?trigger=${__field.labels.trigger}", "targetBlank": True}]
LANDING_LINK = [{"title": "Agent landing page (recent captures)", "url": "http://${__field.labels.instance}/", "targetBlank": True}]

PANELS = [
    ("timeseries", "Failed syscalls per second", "Every syscall that returned an error, machine-wide.", "ops", 12,
     [(f'sum by (instance) (rate(errno_syscall_failures_total{{{SEL}, {COMM}}}[$__rate_interval]))', "{{instance}}")], []),
    ("timeseries", "Top failing (syscall, errno)", "", "ops", 12,
     [(f'topk(10, sum by (syscall, errno) (rate(errno_syscall_failures_total{{{SEL}, {COMM}}}[$__rate_interval])))', "{{syscall}} {{errno}}")], []),
    ("timeseries", "Top failing programs (comm)", "", "ops", 12,
     [(f'topk(10, sum by (comm) (rate(errno_syscall_failures_total{{{SEL}, {COMM}}}[$__rate_interval])))', "{{comm}}")], []),
    ("timeseries", "ENOENT by syscall and comm", "", "ops", 12,
     [(f'topk(10, sum by (syscall, comm) (rate(errno_syscall_failures_total{{{SEL}, {COMM}, errno="ENOENT"}}[$__rate_interval])))', "{{syscall}} {{comm}}")], []),
    ("table", "Top failing paths (last range)", "Failed opens (and the other paths.syscalls) by path, errno and comm.", "short", 12,
     [(f'topk(20, sum by (path, errno, comm) (increase(errno_path_failures_total{{{SEL}, {COMM}}}[$__range])))', "")], LANDING_LINK),
    ("table", "Failures by errno (last range)", "", "short", 12,
     [(f'sort_desc(sum by (errno) (increase(errno_syscall_failures_total{{{SEL}, {COMM}}}[$__range])))', "")], []),
    ("timeseries", "Trigger matches and captures per second", "Syscalls that matched a trigger, and the stack captures sent (click through to the captures).", "ops", 12,
     [(f'sum by (instance, trigger) (rate(errno_trigger_matches_total{{{SEL}}}[$__rate_interval]))', "matches {{trigger}}"),
      (f'sum by (instance, trigger) (rate(errno_stack_captures_total{{{SEL}}}[$__rate_interval]))', "captures {{trigger}}")], CAPTURES_LINK),
    ("stat", "Triggers armed", "1: captures now (armed: always, or an alert's window is open).", "short", 12,
     [(f'errno_trigger_armed{{{SEL}}}', "{{trigger}}")], CAPTURES_LINK),
    ("timeseries", "Events not counted or captured normally", "Map full (folded into <other>), rate-limited or ring-buffer-full trigger matches, recursion.", "ops", 12,
     [(f'sum by (reason) (rate(errno_exporter_dropped_events_total{{{SEL}}}[$__rate_interval]))', "{{reason}}")], []),
    ("timeseries", "BPF map pressure", "Entries / capacity; alert before map_full starts.", "percentunit", 12,
     [(f'errno_exporter_bpf_map_entries{{{SEL}}} / errno_exporter_bpf_map_max_entries{{{SEL}}}', "{{instance}} {{map}}")], []),
    ("timeseries", "Stack unwinding", "How captured user stacks ended (outermost: complete), and frames no symbol covers.", "short", 12,
     [(f'sum by (reason) (increase(errno_exporter_unwind_stops_total{{{SEL}}}[$__rate_interval]))', "{{reason}}"),
      (f'sum by (stack) (increase(errno_exporter_unresolved_frames_total{{{SEL}}}[$__rate_interval]))', "unresolved {{stack}} frames")], []),
    ("timeseries", "Agent: scrape time, memory, CPU, reloads", "", "short", 12,
     [(f'errno_exporter_scrape_duration_seconds{{{SEL}}}', "scrape seconds {{instance}}"),
      (f'process_resident_memory_bytes{{{SEL}, job=~"$job"}}', "RSS {{instance}}"),
      (f'rate(process_cpu_seconds_total{{{SEL}, job=~"$job"}}[$__rate_interval])', "CPU {{instance}}"),
      (f'errno_exporter_config_last_reload_successful{{{SEL}}}', "last reload ok {{instance}}")], []),
]


def variable(name, query, label=None):
    return {"name": name, "label": label or name, "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": query, "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"text": "All", "value": "$__all"}}


def main():
    panels = []
    x = y = 0
    for index, (kind, title, description, unit, width, targets, links) in enumerate(PANELS):
        if x + width > 24:
            x, y = 0, y + 8
        panel = {"id": index + 1, "type": kind, "title": title, "description": description,
                 "datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "gridPos": {"x": x, "y": y, "w": width, "h": 8},
                 "fieldConfig": {"defaults": {"unit": unit, "links": links}, "overrides": []},
                 "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend} for i, (expr, legend) in enumerate(targets)]}
        if kind == "table":
            panel["targets"][0]["format"] = "table"
            panel["targets"][0]["instant"] = True
        panels.append(panel)
        x += width
    dashboard = {
        "uid": "errno-exporter", "title": "errno_exporter: failed syscalls and stack captures", "tags": ["errno_exporter", "ebpf"],
        "schemaVersion": 39, "version": 2, "editable": True, "time": {"from": "now-1h", "to": "now"}, "refresh": "30s",
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            variable("job", "label_values(errno_exporter_build_info, job)"),
            variable("instance", 'label_values(errno_exporter_build_info{job=~"$job"}, instance)'),
            variable("comm", 'label_values(errno_syscall_failures_total{instance=~"$instance"}, comm)'),
        ]},
        "links": [{"title": "Captures API", "type": "link", "url": "http://${instance}/api/v1/captures", "targetBlank": True}],
        "panels": panels,
    }
    with open(os.path.join(ROOT, "dashboards", "errno_exporter.json"), "w") as f:
        json.dump(dashboard, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
