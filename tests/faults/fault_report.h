// The figures of one fault case, printed as a single line
//   FAULT-REPORT {"case": ..., ...}
// on stdout and, when $SLUICE_FAULT_REPORT names a file, appended to it (one
// JSON object per line). docs/reliability.md quotes these lines, so every figure
// is a measurement of the run that printed it.
#pragma once

#include <string>
#include <vector>

namespace sluice::test {

struct FaultReport {
  std::string case_name;
  bool completed = true;             // false: the case failed before its end (figures partial)
  int faults_injected = 0;
  long pgbench_transactions = 0;     // committed (rows of pgbench_history)
  long pgbench_reported = 0;         // what pgbench itself reported as processed
  long captured_changes = 0;         // 3 per committed TPC-B transaction
  long keys_verified = 0;            // "rows checked" summed over the tables
  long keys_missing = 0;
  long keys_different = 0;
  long keys_extra = 0;
  long regressions = 0;
  long regression_samples = 0;       // rounds of the regression watcher
  std::string recovery_measure;      // what a recovery time is measured from and to
  std::vector<double> recovery_s;
  std::string secondary_measure;     // optional second timing of the same faults
  std::vector<double> secondary_s;
  double duration_s = 0;             // the whole case, set-up included
  std::string setup;                 // the settings the figures depend on
  std::string seed;                  // the random seed, when the case uses one
  std::string notes;

  std::string to_json() const;
  // Prints the FAULT-REPORT line and appends it to $SLUICE_FAULT_REPORT if set.
  // Never throws (a report file that cannot be written is reported on stderr).
  void emit() const noexcept;
};

}  // namespace sluice::test
