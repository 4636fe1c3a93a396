#include "core/metrics.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/change_counts.h"
#include "core/error.h"

namespace sluice {
namespace {

TEST(MetricsTest, FamilyRendersHelpTypeAndSortedSeries) {
  MetricFamily family("sluice_things_total", "Things.", MetricFamily::Type::kCounter, {"sink", "kind"});
  add(family.series({"b", "x"}), 2);
  add(family.series({"a", "y"}), 1.5);
  add(family.series({"b", "x"}), 1);
  std::string out;
  family.render(out);
  EXPECT_EQ(out,
            "# HELP sluice_things_total Things.\n"
            "# TYPE sluice_things_total counter\n"
            "sluice_things_total{sink=\"a\",kind=\"y\"} 1.5\n"
            "sluice_things_total{sink=\"b\",kind=\"x\"} 3\n");
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricFamily family("g", "G.", MetricFamily::Type::kGauge, {"table"});
  set(family.series({"we\"ird\\name\nx"}), 7);
  std::string out;
  family.render(out);
  EXPECT_NE(out.find("g{table=\"we\\\"ird\\\\name\\nx\"} 7\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# TYPE g gauge\n"), std::string::npos);
}

TEST(MetricsTest, SeriesReferencesStayValidAsTheFamilyGrows) {
  MetricFamily family("c", "C.", MetricFamily::Type::kCounter, {"n"});
  std::atomic<double>& first = family.series({"0"});
  for (int i = 1; i < 1000; ++i) add(family.series({std::to_string(i)}), 1);
  add(first, 5);
  EXPECT_EQ(family.series({"0"}).load(), 5);
  EXPECT_EQ(&family.series({"0"}), &first);
}

TEST(MetricsTest, WrongLabelCountIsAnInternalError) {
  MetricFamily family("c", "C.", MetricFamily::Type::kCounter, {"a", "b"});
  try {
    family.series({"only one"});
    FAIL() << "expected Error::internal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_NE(std::string(e.what()).find("metric c"), std::string::npos) << e.what();
  }
}

TEST(MetricsTest, ValuesPrintExactlyAndShortest) {
  MetricFamily family("v", "V.", MetricFamily::Type::kGauge, {"k"});
  set(family.series({"big"}), 26115504);
  set(family.series({"frac"}), 0.000242655);
  set(family.series({"neg"}), -3);
  std::string out;
  family.render(out);
  EXPECT_NE(out.find("v{k=\"big\"} 26115504\n"), std::string::npos) << out;
  EXPECT_NE(out.find("v{k=\"frac\"} 0.000242655\n"), std::string::npos) << out;
  EXPECT_NE(out.find("v{k=\"neg\"} -3\n"), std::string::npos) << out;
}

TEST(MetricsTest, EveryFamilyIsRenderedWithTheProcessSeries) {
  Metrics metrics;
  const std::string out = metrics.render();
  for (const char* name : {"sluice_changes_received_total", "sluice_changes_applied_total", "sluice_slot_lag_bytes",
                           "sluice_replication_lag_seconds", "sluice_queue_bytes", "sluice_snapshot_rows_done",
                           "sluice_sink_errors_total", "sluice_sink_retries_total", "sluice_last_applied_lsn",
                           "sluice_sink_last_success_timestamp_seconds", "sluice_heartbeats_sent_total"}) {
    EXPECT_NE(out.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  EXPECT_NE(out.find("sluice_build_info{version=\"" SLUICE_VERSION "\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sluice_source_connected 0\n"), std::string::npos) << out;
}

TEST(MetricsTest, ChangeCountsCountPerTableAndOperation) {
  MetricFamily family("applied", "A.", MetricFamily::Type::kCounter, {"sink", "table", "op"});
  ChangeCounts counts(family, {"cache"});
  auto users = std::make_shared<Relation>();
  users->schema = "public";
  users->name = "users";
  auto orders = std::make_shared<Relation>();
  orders->schema = "shop";
  orders->name = "orders";
  auto change = [](RelationPtr relation, Op op) {
    Change c;
    c.relation = std::move(relation);
    c.op = op;
    return c;
  };
  counts.count(change(users, Op::kInsert));
  counts.count(change(users, Op::kInsert));
  counts.count(change(users, Op::kDelete));
  counts.count(change(orders, Op::kUpdate), 3);
  EXPECT_EQ(family.series({"cache", "public.users", "insert"}).load(), 2);
  EXPECT_EQ(family.series({"cache", "public.users", "delete"}).load(), 1);
  EXPECT_EQ(family.series({"cache", "shop.orders", "update"}).load(), 3);
  EXPECT_EQ(family.series({"cache", "public.users", "update"}).load(), 0);
}

}  // namespace
}  // namespace sluice
