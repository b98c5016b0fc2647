#include "libs/metrics/registry.h"

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/metrics/prometheus_text.h"
#include "libs/metrics/text_lookup.h"
#include "tests/libs/metrics/death.h"

namespace p402::metrics {
namespace {

using p402::testing::AbortsInChild;

TEST_CASE("render matches the exposition format byte for byte", "[unit]") {
  Registry r;
  // Registered out of name order: the output must still be sorted by family
  // name.
  auto& reqs = r.AddCounterFamily("p402_edge_requests_total", "Requests by route and code.",
                                  {"route", "code"});
  auto& inflight = r.AddGauge("p402_edge_inflight_requests", "In-flight requests.");
  auto& lat = r.AddHistogramFamily("p402_edge_latency_seconds", "Request latency.", {"route"},
                                   std::vector<double>{0.1, 0.5, 1});
  reqs.WithLabels({"embeddings", "200"}).Inc();
  reqs.WithLabels({"chat", "500"}).Inc();
  reqs.WithLabels({"chat", "200"}).Inc(3);
  inflight.Set(7);
  inflight.Dec();
  auto& chat = lat.WithLabels({"chat"});
  chat.Observe(0.0625);
  chat.Observe(0.5);  // on a bound: counts in le="0.5"
  chat.Observe(2);    // above every bound: only in +Inf

  const std::string want =
      "# HELP p402_edge_inflight_requests In-flight requests.\n"
      "# TYPE p402_edge_inflight_requests gauge\n"
      "p402_edge_inflight_requests 6\n"
      "# HELP p402_edge_latency_seconds Request latency.\n"
      "# TYPE p402_edge_latency_seconds histogram\n"
      "p402_edge_latency_seconds_bucket{route=\"chat\",le=\"0.1\"} 1\n"
      "p402_edge_latency_seconds_bucket{route=\"chat\",le=\"0.5\"} 2\n"
      "p402_edge_latency_seconds_bucket{route=\"chat\",le=\"1\"} 2\n"
      "p402_edge_latency_seconds_bucket{route=\"chat\",le=\"+Inf\"} 3\n"
      "p402_edge_latency_seconds_sum{route=\"chat\"} 2.5625\n"
      "p402_edge_latency_seconds_count{route=\"chat\"} 3\n"
      "# HELP p402_edge_requests_total Requests by route and code.\n"
      "# TYPE p402_edge_requests_total counter\n"
      "p402_edge_requests_total{route=\"chat\",code=\"200\"} 3\n"
      "p402_edge_requests_total{route=\"chat\",code=\"500\"} 1\n"
      "p402_edge_requests_total{route=\"embeddings\",code=\"200\"} 1\n";
  REQUIRE(r.RenderPrometheusText() == want);
  // Rendering is stable: same state, same bytes.
  REQUIRE(r.RenderPrometheusText() == want);
}

TEST_CASE("unlabelled metrics render without braces, empty families render headers", "[unit]") {
  Registry r;
  r.AddCounter("p402_a_total", "A.");
  r.AddCounterFamily("p402_b_total", "B.", {"code"});
  auto& h = r.AddHistogram("p402_c_seconds", "C.", std::vector<double>{1});
  h.Observe(0.5);
  REQUIRE(r.RenderPrometheusText() ==
          "# HELP p402_a_total A.\n"
          "# TYPE p402_a_total counter\n"
          "p402_a_total 0\n"
          "# HELP p402_b_total B.\n"
          "# TYPE p402_b_total counter\n"
          "# HELP p402_c_seconds C.\n"
          "# TYPE p402_c_seconds histogram\n"
          "p402_c_seconds_bucket{le=\"1\"} 1\n"
          "p402_c_seconds_bucket{le=\"+Inf\"} 1\n"
          "p402_c_seconds_sum 0.5\n"
          "p402_c_seconds_count 1\n");
  REQUIRE(Registry().RenderPrometheusText().empty());
}

TEST_CASE("label values and help text are escaped", "[unit]") {
  Registry r;
  auto& f = r.AddCounterFamily("p402_x_total", "Help with \\ backslash\nand \"quotes\".", {"v"});
  f.WithLabels({"a\\b\"c\nd"}).Inc();
  f.WithLabels({"héllo {x}=,"}).Inc(2);  // UTF-8 and syntax characters pass through unescaped
  REQUIRE(r.RenderPrometheusText() ==
          "# HELP p402_x_total Help with \\\\ backslash\\nand \"quotes\".\n"
          "# TYPE p402_x_total counter\n"
          "p402_x_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"
          "p402_x_total{v=\"héllo {x}=,\"} 2\n");
  REQUIRE(EscapeLabelValue("plain") == "plain");
  REQUIRE(EscapeLabelValue("\\\"\n") == "\\\\\\\"\\n");
  REQUIRE(EscapeHelp("\"q\"\n\\") == "\"q\"\\n\\\\");
}

TEST_CASE("FormatValue writes Prometheus-style numbers", "[unit]") {
  CHECK(FormatValue(0) == "0");
  CHECK(FormatValue(-0.0) == "0");
  CHECK(FormatValue(42) == "42");
  CHECK(FormatValue(-3) == "-3");
  CHECK(FormatValue(0.25) == "0.25");
  CHECK(FormatValue(0.1) == "0.1");
  CHECK(FormatValue(2.5) == "2.5");
  CHECK(FormatValue(0.0001) == "0.0001");
  CHECK(FormatValue(0.00025) == "0.00025");
  CHECK(FormatValue(5e-05) == "5e-05");
  CHECK(FormatValue(1e15) == "1000000000000000");
  CHECK(FormatValue(1e21) == "1e+21");
  CHECK(FormatValue(1.0 / 0.0) == "+Inf");
  CHECK(FormatValue(-1.0 / 0.0) == "-Inf");
  CHECK(FormatValue(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("counter values read back and stay monotonic", "[unit]") {
  Registry r;
  auto& c = r.AddCounter("p402_c_total", "C.");
  c.Inc();
  c.Inc(4);
  REQUIRE(c.Value() == 5);
  c.Add(-1);                                        // ignored: counters never go down
  c.Add(std::numeric_limits<double>::quiet_NaN());  // ignored
  c.Add(std::numeric_limits<double>::infinity());   // ignored
  REQUIRE(c.Value() == 5);
  c.Add(0.5);
  REQUIRE(c.Value() == 5.5);
  REQUIRE(FindSample(r.RenderPrometheusText(), "p402_c_total") == 5.5);

  // Integer counters render exactly beyond double precision.
  auto& big = r.AddCounter("p402_big_total", "Big.");
  big.Inc((uint64_t{1} << 60) + 1);
  REQUIRE(r.RenderPrometheusText().find("p402_big_total 1152921504606846977\n") !=
          std::string::npos);
  REQUIRE(big.IntValue() == (uint64_t{1} << 60) + 1);
}

TEST_CASE("gauge set, inc and dec with integers and doubles", "[unit]") {
  Registry r;
  auto& g = r.AddGauge("p402_g", "G.");
  g.Inc();
  g.Inc();
  g.Dec();
  REQUIRE(g.Value() == 1);
  g.Set(int64_t{-12});
  REQUIRE(g.Value() == -12);
  g.Add(0.5);
  REQUIRE(g.Value() == -11.5);
  g.Set(1.25);
  g.Dec(2);
  REQUIRE(g.Value() == -0.75);
  REQUIRE(FindSample(r.RenderPrometheusText(), "p402_g") == -0.75);
}

TEST_CASE("WithLabels returns the same child for the same values", "[unit]") {
  Registry r;
  auto& f = r.AddCounterFamily("p402_f_total", "F.", {"provider", "code"});
  Counter& a = f.WithLabels({"openai", "200"});
  std::vector<std::string> owned = {"openai", "200"};
  REQUIRE(&f.WithLabels(owned) == &a);
  std::string_view views[] = {"openai", "200"};
  REQUIRE(&f.WithLabels(std::span<const std::string_view>(views)) == &a);
  REQUIRE(&f.WithLabels({"openai", "500"}) != &a);
  REQUIRE(f.ChildCount() == 2);
}

TEST_CASE("registration is idempotent for identical definitions", "[unit]") {
  Registry r;
  auto& f1 = r.AddCounterFamily("p402_same_total", "Same.", {"code"});
  auto& f2 = r.AddCounterFamily("p402_same_total", "Same.", {"code"});
  REQUIRE(&f1 == &f2);
  REQUIRE(&r.AddCounter("p402_u_total", "U.") == &r.AddCounter("p402_u_total", "U."));
  auto& h1 = r.AddHistogramFamily("p402_h_seconds", "H.", {"route"});
  auto& h2 = r.AddHistogramFamily("p402_h_seconds", "H.", {"route"}, DefaultLatencyBuckets());
  REQUIRE(&h1 == &h2);
  REQUIRE(&Registry::Default() == &Registry::Default());
}

TEST_CASE("programming errors in registration abort loudly", "[unit]") {
  // Each lambda builds its own registry in the forked child.
  CHECK(AbortsInChild([] { Registry().AddCounter("9starts_with_digit", "x"); }));
  CHECK(AbortsInChild([] { Registry().AddCounter("has-dash", "x"); }));
  CHECK(AbortsInChild([] { Registry().AddCounter("", "x"); }));
  CHECK(AbortsInChild([] { Registry().AddCounterFamily("p402_x", "x", {"bad-label"}); }));
  CHECK(AbortsInChild([] { Registry().AddCounterFamily("p402_x", "x", {"__reserved"}); }));
  CHECK(AbortsInChild([] { Registry().AddCounterFamily("p402_x", "x", {"a", "a"}); }));
  CHECK(AbortsInChild([] { Registry().AddHistogramFamily("p402_x", "x", {"le"}); }));
  CHECK(AbortsInChild([] { Registry().AddHistogram("p402_x", "x", std::vector<double>{1, 1}); }));
  CHECK(AbortsInChild([] {
    Registry r;
    r.AddCounter("p402_x", "x");
    r.AddGauge("p402_x", "x");
  }));
  CHECK(AbortsInChild([] {
    Registry r;
    r.AddCounterFamily("p402_x", "x", {"a"});
    r.AddCounterFamily("p402_x", "x", {"b"});
  }));
  CHECK(AbortsInChild([] {
    Registry r;
    r.AddHistogram("p402_x", "x", std::vector<double>{1, 2});
    r.AddHistogram("p402_x", "x", std::vector<double>{1, 3});
  }));
  CHECK(AbortsInChild([] {
    Registry r;
    r.AddCounterFamily("p402_x", "x", {"a", "b"}).WithLabels({"only_one"});
  }));
  // Control: a valid registration does not abort, so the checks above are
  // meaningful.
  CHECK_FALSE(AbortsInChild([] {
    Registry r;
    r.AddCounterFamily("p402:ok_total", "x", {"_a", "b1"}).WithLabels({"x", "y"}).Inc();
  }));
}

TEST_CASE("label cardinality is capped with an overflow child", "[unit]") {
  Registry r;
  auto& f = r.AddCounterFamily("p402_capped_total", "Capped.", {"model"},
                               /*max_children=*/2);
  f.WithLabels({"a"}).Inc();
  f.WithLabels({"b"}).Inc();
  Counter& c = f.WithLabels({"c"});
  Counter& d = f.WithLabels({"d"});
  REQUIRE(&c == &d);
  c.Inc();
  d.Inc();
  f.WithLabels({"a"}).Inc();  // existing children keep working
  REQUIRE(f.ChildCount() == 3);
  std::string text = r.RenderPrometheusText();
  REQUIRE(FindSample(text, "p402_capped_total{model=\"__overflow__\"}") == 2);
  REQUIRE(FindSample(text, "p402_capped_total{model=\"a\"}") == 2);
  REQUIRE_FALSE(FindSample(text, "p402_capped_total{model=\"c\"}"));
}

TEST_CASE("concurrent increments and child creation lose nothing", "[unit]") {
  Registry r;
  auto& f = r.AddCounterFamily("p402_conc_total", "Concurrent.", {"worker", "kind"});
  auto& shared = r.AddCounter("p402_shared_total", "Shared.");
  auto& frac = r.AddCounter("p402_frac_total", "Fractional.");
  auto& g = r.AddGauge("p402_conc_gauge", "Gauge.");
  auto& h = r.AddHistogram("p402_conc_seconds", "Hist.", std::vector<double>{0.5, 1});
  constexpr int kThreads = 8;
  constexpr int kIters = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string worker = std::to_string(t % 4);  // two threads per child: contended creation
      for (int i = 0; i < kIters; ++i) {
        shared.Inc();
        frac.Add(0.5);  // sums of halves stay exact in a double
        g.Inc();
        h.Observe(i % 2 == 0 ? 0.25 : 2.0);
        f.WithLabels({worker, i % 2 == 0 ? "even" : "odd"}).Inc();
        if (i % 1000 == 0) {
          // Rendering concurrently with writers is safe.
          (void)r.RenderPrometheusText();
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  const uint64_t total = uint64_t{kThreads} * kIters;
  REQUIRE(shared.IntValue() == total);
  REQUIRE(frac.Value() == total * 0.5);
  REQUIRE(g.Value() == static_cast<double>(total));
  auto snap = h.Read();
  REQUIRE(snap.count == total);
  REQUIRE(snap.cumulative[0] == total / 2);
  REQUIRE(snap.cumulative[1] == total / 2);
  REQUIRE(snap.cumulative[2] == total);
  REQUIRE(snap.sum == (total / 2) * 0.25 + (total / 2) * 2.0);
  REQUIRE(f.ChildCount() == 8);
  std::string text = r.RenderPrometheusText();
  REQUIRE(SumSamples(text, "p402_conc_total") == static_cast<double>(total));
  // Each worker label is used by two threads, each doing kIters/2 "even"
  // increments.
  REQUIRE(FindSample(text, "p402_conc_total{worker=\"3\",kind=\"even\"}") == kIters);
}

}  // namespace
}  // namespace p402::metrics
