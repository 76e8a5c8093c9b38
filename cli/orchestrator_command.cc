// `isoflop sweep plan|submit`, `daemon`, `status`, `cancel`, `logs`: parse flags, call one
// orchestrator function, print. Logic lives in orchestrator/ (docs/orchestrator.md).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "isoflop/orchestrator.h"

namespace isoflop::cli {

namespace orch = isoflop::orchestrator;

namespace {

struct SweepFlags {
  std::string spec;
  std::string db = "isoflop.db";
  std::string backend;
  bool json = false;
};

void RegisterSweep(CLI::App& app, CommandContext& ctx) {
  auto* sweep = app.add_subcommand("sweep", "Plan or submit an IsoFLOP sweep (spec: docs/orchestrator.md)");
  sweep->require_subcommand(1);
  auto flags = std::make_shared<SweepFlags>();

  auto* plan = sweep->add_subcommand("plan",
                                     "Print the runs a sweep would launch; nothing is submitted or written.\n"
                                     "Examples:\n"
                                     "  isoflop sweep plan configs/sweeps/tiny.yaml\n"
                                     "  isoflop sweep plan configs/sweeps/auto.yaml --db state.db --json");
  plan->add_option("spec", flags->spec, "sweep spec YAML")->required();
  plan->add_option("--db", flags->db, "state database (read only: centres auto sizes on its latest fit)");
  plan->add_flag("--json", flags->json, "print JSON");
  plan->callback([flags, &ctx] {
    auto spec = orch::ParseSweepSpec(flags->spec);
    if (!spec.ok()) {
      ctx.exit_code = ReportError("sweep plan", spec.status());
      return;
    }
    auto runs = orch::PlanSweepWithDb(*spec, flags->db);
    if (!runs.ok()) {
      ctx.exit_code = ReportError("sweep plan", runs.status());
      return;
    }
    std::printf("%s\n",
                (flags->json ? orch::PlannedRunsToJson(*runs) : orch::PlannedRunsToText(*runs)).c_str());
  });

  auto* submit = sweep->add_subcommand(
      "submit",
      "Record a sweep's runs in the database; `isoflop daemon` launches them.\n"
      "Resubmitting adds only runs not yet recorded.\n"
      "The spec's `data` must be token shards: configs/sweeps/*.yaml read demo-out/shards, which "
      "scripts/demo\n"
      "(or `isoflop data build ... --out demo-out/shards`) writes.\n"
      "Examples:\n"
      "  isoflop sweep submit configs/sweeps/tiny.yaml --db state.db\n"
      "  isoflop sweep submit configs/sweeps/tiny-slurm.yaml --db slurm.db --backend slurm   # needs a Slurm "
      "cluster for the daemon");
  submit->add_option("spec", flags->spec, "sweep spec YAML")->required();
  submit->add_option("--db", flags->db, "state database (created if missing)")->capture_default_str();
  submit->add_option("--backend", flags->backend, "override the spec's backend")
      ->check(CLI::IsMember({"local", "slurm"}));
  submit->add_flag("--json", flags->json, "print JSON");
  submit->callback([flags, &ctx] {
    auto spec = orch::ParseSweepSpec(flags->spec);
    if (!spec.ok()) {
      ctx.exit_code = ReportError("sweep submit", spec.status());
      return;
    }
    orch::SubmitOptions options;
    options.db_path = flags->db;
    options.backend_override = flags->backend;
    auto summary = orch::SubmitSweep(*spec, options);
    if (!summary.ok()) {
      ctx.exit_code = ReportError("sweep submit", summary.status());
      return;
    }
    if (flags->json) {
      std::printf("{\"sweep\": \"%s\", \"runs_added\": %d, \"runs_existing\": %d}\n", summary->sweep.c_str(),
                  summary->runs_added, summary->runs_existing);
    } else {
      std::printf("%s\nstart (or keep running) `isoflop daemon --db %s` to launch them\n",
                  summary->BriefReport().c_str(), flags->db.c_str());
    }
  });
}

void RegisterDaemon(CLI::App& app, CommandContext& ctx) {
  auto options = std::make_shared<orch::DaemonOptions>();
  auto* cmd = app.add_subcommand(
      "daemon",
      "Launch, watch, retry, ingest and refit; serve read-only JSON on loopback.\n"
      "SIGTERM: finish the current step and exit. SIGHUP: re-read the sweep specs.\n"
      "Examples:\n"
      "  isoflop daemon --db state.db        # needs time: trains every pending run, until SIGTERM\n"
      "  isoflop daemon --db state.db --listen 127.0.0.1:8470 --exit-when-idle   # needs time: "
      "until every run is final\n"
      "  curl -s http://127.0.0.1:8470/api/fit        # needs a running daemon\n"
      "  curl -s http://127.0.0.1:8470/metrics        # needs a running daemon (Prometheus)");
  cmd->add_option("--db", options->db_path, "state database")->capture_default_str();
  cmd->add_option("--listen", options->listen,
                  "IP:PORT for the status API (loopback unless --listen-public), or off")
      ->capture_default_str();
  cmd->add_flag("--listen-public", options->listen_public,
                "allow a non-loopback --listen address (the API has no authentication) and any Host header");
  cmd->add_option("--poll-min", options->poll_min_s, "seconds between polls after an event")
      ->capture_default_str();
  cmd->add_option("--poll-max", options->poll_max_s, "longest poll interval when nothing changes")
      ->capture_default_str();
  cmd->add_flag("--exit-when-idle", options->exit_when_idle, "exit once every run is final");
  cmd->add_option("--max-runtime", options->max_runtime_s, "exit after this many seconds (0: never)");
  auto quiet = std::make_shared<bool>(false);
  cmd->add_flag("--quiet", *quiet, "no progress lines on stderr");
  cmd->callback([options, &ctx, quiet] {
    options->verbose = !*quiet;
    auto summary = orch::RunDaemon(*options);
    if (!summary.ok()) {
      ctx.exit_code = ReportError("daemon", summary.status());
      return;
    }
    std::fprintf(stderr, "%s\n", summary->BriefReport().c_str());
  });
}

void RegisterStatus(CLI::App& app, CommandContext& ctx) {
  struct Flags {
    std::string db = "isoflop.db";
    bool json = false;
    bool all = false;
    double watch = 0;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "status",
      "Runs, their states, the current law, its intervals and how they narrowed.\n"
      "Examples:\n"
      "  isoflop status --db state.db\n"
      "  isoflop status --db state.db --json --all\n"
      "  isoflop status --db state.db --watch 5       # needs Ctrl-C: redraws until stopped");
  cmd->add_option("--db", flags->db, "state database")->capture_default_str();
  cmd->add_flag("--json", flags->json, "print JSON");
  cmd->add_flag("--all", flags->all, "list every run (default: in flight and the 20 most recently finished)");
  cmd->add_option("--watch", flags->watch, "refresh every SECONDS")->expected(0, 1)->default_str("2");
  cmd->callback([flags, cmd, &ctx] {
    bool watch = cmd->count("--watch") > 0;
    double every = flags->watch > 0 ? flags->watch : 2;
    for (;;) {
      orch::StatusOptions options;
      options.all_runs = flags->all;
      auto report = orch::GetStatus(flags->db, options);
      if (!report.ok()) {
        ctx.exit_code = ReportError("status", report.status());
        return;
      }
      // A terminal gets the screen redrawn in place; a pipe or a file gets plain text, each refresh
      // after a dated separator line (no escape codes in logs).
      if (watch && !flags->json) {
        if (::isatty(STDOUT_FILENO)) {
          std::printf("\033[H\033[2J");
        } else {
          const std::time_t now = std::time(nullptr);
          char when[64];
          std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
          std::printf("--- %s ---\n", when);
        }
      }
      std::printf("%s\n", (flags->json ? report->ToJson() : report->ToText()).c_str());
      std::fflush(stdout);
      if (!watch) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(every * 1000)));
    }
  });
}

void RegisterCancel(CLI::App& app, CommandContext& ctx) {
  struct Flags {
    std::string db = "isoflop.db";
    std::string run;
    bool all = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd =
      app.add_subcommand("cancel",
                         "Cancel one run (NAME or SWEEP/NAME) or every live run; results stay stored.\n"
                         "Examples:\n"
                         "  isoflop cancel --db state.db C1e10-L2-d32\n"
                         "  isoflop cancel --db state.db --all");
  cmd->add_option("--db", flags->db, "state database")->capture_default_str();
  cmd->add_option("run", flags->run, "run name");
  cmd->add_flag("--all", flags->all, "cancel every live run");
  cmd->callback([flags, &ctx] {
    if (flags->all == !flags->run.empty()) {
      ctx.exit_code = ReportError("cancel", Status::InvalidArgument("give either a RUN or --all"));
      return;
    }
    auto n = orch::CancelRuns(flags->db, flags->run, flags->all);
    if (!n.ok()) {
      ctx.exit_code = ReportError("cancel", n.status());
      return;
    }
    std::printf("cancelled %d run(s)\n", *n);
  });
}

void RegisterLogs(CLI::App& app, CommandContext& ctx) {
  struct Flags {
    std::string db = "isoflop.db";
    std::string run;
    bool follow = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "logs",
      "Print a run's trainer log (stdout+stderr).\n"
      "Examples:\n"
      "  isoflop logs --db state.db C1e10-L2-d32        # needs a run the daemon has started\n"
      "  isoflop logs --db state.db tiny/C1e10-L2-d32 --follow   # needs a run the daemon has "
      "started");
  cmd->add_option("--db", flags->db, "state database")->capture_default_str();
  cmd->add_option("run", flags->run, "run name (NAME or SWEEP/NAME)")->required();
  cmd->add_flag("--follow,-f", flags->follow, "keep printing until the run ends");
  cmd->callback([flags, &ctx] {
    Status s = orch::StreamRunLog(flags->db, flags->run, flags->follow, [](std::string_view chunk) {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
      std::fflush(stdout);
    });
    if (!s.ok()) ctx.exit_code = ReportError("logs", s);
  });
}

}  // namespace

void RegisterOrchestratorCommands(CLI::App& app, CommandContext& ctx) {
  RegisterSweep(app, ctx);
  RegisterDaemon(app, ctx);
  RegisterStatus(app, ctx);
  RegisterCancel(app, ctx);
  RegisterLogs(app, ctx);
}

}  // namespace isoflop::cli
