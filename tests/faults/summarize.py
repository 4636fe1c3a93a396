#!/usr/bin/env python3
"""Summarizes FAULT-REPORT lines (JSON, one per line; see fault_report.h) as the
Markdown tables of docs/reliability.md: one row per fault kind, one per case.

    python3 tests/faults/summarize.py /tmp/faults.jsonl [more.jsonl ...]
"""
import json
import statistics
import sys

# Which fault kind of issue 3 each case injects.
KIND = {
    "KillNineAtRandomMomentsUnderLoadLosesNothing": "1. kill -9 of sluice",
    "RestartsAndALongOutageUnderLoadAreRiddenOut": "2. Redis restarts, 21 s outage",
    "CrashesUnderLoadAreReconnectedAndCaughtUp": "3. PostgreSQL crash (immediate)",
    "CutsToPostgresAndRedisUnderLoadAreReconnected": "4. connections cut (proxy RST)",
    "EmptiedRedisIsRebuiltWhileStreamingGoesOn": "5. sink reset (rebuild)",
    "WithOnResetStopItStopsAndResnapshotRebuilds": "5. sink reset (stop, --resnapshot)",
    "DroppedSlotStopsTheRunAndResnapshotRebuildsUnderLoad": "6. slot dropped",
    "InvalidatedSlotStopsTheRunAndResnapshotRebuildsUnderLoad": "6. slot invalidated",
    "StopsWithoutAcknowledgingThenDeadLettersAndRepairs": "7. poison change",
    "KilledActiveIsReplacedByTheStandbyUnderLoad": "8. standby takeover (kill -9)",
    "ActiveThatLosesItsLockConnectionIsNotJoinedByASecondActive": "8. active's connections cut",
    "ActiveCutOffWhileTheStandbyTakesOverStepsDown": "8. active cut off, standby takes over",
    "PartitionedTableUnderLoadWithKill9LosesNothing": "9. partitioned table, kill -9",
    "SchemaChangesUnderLoadConverge": "10. schema changes (re-sync), kill -9",
    "SluiceKilledAtRandomMomentsFeedingSearchLosesNothing": "11a. search: kill -9 of sluice",
    "SearchdKilledStoppedAndDownFor20SecondsIsRiddenOut": "11b. search: searchd restarts, 21 s outage",
    "EmptiedIndexAndSearchdWithoutItsDataAreRebuiltWhileStreaming": "11c. search: index emptied (rebuild)",
    "CutConnectionsToSearchdAreReconnected": "11d. search: connections cut (proxy RST)",
}


def seconds(values):
    if not values:
        return "—"
    return f"{statistics.median(values):.2f} / {max(values):.2f}"


def main(paths):
    reports = []
    for path in paths:
        with open(path) as f:
            reports += [json.loads(line) for line in f if line.strip()]
    by_case = {}
    for r in reports:
        by_case.setdefault(r["case"], []).append(r)

    total = {k: 0 for k in ("runs", "faults", "txns", "changes", "keys", "lost", "regressions", "incomplete")}
    print("| fault | runs | faults injected | pgbench transactions | changes captured | keys verified "
          "| missing / different / extra | regressions | recovery s (median / max) | second timing s (median / max) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in sorted(by_case, key=lambda c: (KIND.get(c, "9 " + c), c)):
        rs = by_case[case]
        row = {
            "runs": len(rs),
            "faults": sum(r["faults_injected"] for r in rs),
            "txns": sum(r["pgbench_transactions"] for r in rs),
            "changes": sum(r["captured_changes"] for r in rs),
            "keys": sum(r["keys_verified"] for r in rs),
            "lost": sum(r["keys_missing"] + r["keys_different"] + r["keys_extra"] for r in rs),
            "regressions": sum(r["regressions"] for r in rs),
            "incomplete": sum(not r["completed"] for r in rs),
        }
        for k in total:
            total[k] += row[k]
        missing = sum(r["keys_missing"] for r in rs)
        different = sum(r["keys_different"] for r in rs)
        extra = sum(r["keys_extra"] for r in rs)
        recovery = [s for r in rs for s in r["recovery_s"]]
        secondary = [s for r in rs for s in r.get("secondary_s", [])]
        runs = f"{row['runs']}" + (f" ({row['incomplete']} incomplete)" if row["incomplete"] else "")
        print(f"| {KIND.get(case, case)} | {runs} | {row['faults']} | {row['txns']:,} | {row['changes']:,} "
              f"| {row['keys']:,} | {missing} / {different} / {extra} | {row['regressions']} "
              f"| {seconds(recovery)} | {seconds(secondary)} |")
    print(f"| **all** | {total['runs']} | {total['faults']} | {total['txns']:,} | {total['changes']:,} "
          f"| {total['keys']:,} | {total['lost']} in all | {total['regressions']} | | |")
    print()
    print("What each timing measures:")
    print()
    for case in sorted(by_case, key=lambda c: (KIND.get(c, "9 " + c), c)):
        r = by_case[case][0]
        line = f"- {KIND.get(case, case)} (`{case}`): {r['recovery_measure']}"
        if r.get("secondary_measure"):
            line += f"; second timing: {r['secondary_measure']}"
        print(line + ".")
    return 0 if total["lost"] == 0 and total["regressions"] == 0 and total["incomplete"] == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
