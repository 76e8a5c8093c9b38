#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "commands.h"

namespace isoflop::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return kExitOk;
    case Status::Code::kInvalidArgument:  // a bad flag, value or file (named in the message)
    case Status::Code::kNotFound:         // a missing file, database or run the user named
    case Status::Code::kCorruption:       // a file the user gave that does not parse or is damaged
      return kExitBadInput;
    default:  // the OS, a service, an infeasible request, a bug
      return kExitFailure;
  }
}

int ReportError(const char* command, const Status& status) {
  std::fprintf(stderr, "isoflop %s: %s\n", command, status.message().c_str());
  return ExitCodeFor(status);
}

namespace {

// Lists each subcommand by the first line of its description: the examples that follow it belong
// to `isoflop COMMAND --help`, not to the parent's list.
class BriefSubcommandFormatter : public CLI::Formatter {
 public:
  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    const std::string& description = sub->get_description();
    CLI::detail::format_help(out, sub->get_display_name(true), description.substr(0, description.find('\n')),
                             column_width_);
    return out.str();
  }
};

}  // namespace

}  // namespace isoflop::cli

int main(int argc, char** argv) {
  using namespace isoflop::cli;
  // The trainer (libtorch) is its own binary; nothing else here loads libtorch.
  if (argc >= 2 && std::string_view(argv[1]) == "train") return ExecTrainer(argc - 1, argv + 1);
  CLI::App app{
      "isoflop: plan a training budget with scaling laws, then spend it.\n"
      "Each command's --help has examples that run from the repository's root (docs: README.md).\n"
      "Examples:\n"
      "  isoflop fit --runs tests/data/chinchilla_epoch.csv --drop-highest-loss 5\n"
      "  isoflop predict --law epoch --flops 5.76e23\n"
      "  isoflop plan --budget-flops 1e23 --cluster configs/clusters/h100-sxm.yaml\n"
      "  isoflop data build --input tests/data/austen_chapters.jsonl --out shards/ --config "
      "configs/data/tiny.yaml\n"
      "  isoflop train --config configs/runs/tiny.yaml --data shards/ --out runs/tiny\n"
      "  isoflop sweep plan configs/sweeps/tiny.yaml\n",
      "isoflop"};
  app.formatter(std::make_shared<BriefSubcommandFormatter>());
  app.set_version_flag("--version", "isoflop 0.1.0");
  app.require_subcommand(1);
  CommandContext ctx;
  RegisterFitCommand(app, ctx);
  RegisterPlanCommands(app, ctx);
  RegisterServeCommand(app, ctx);
  RegisterPredictCommand(app, ctx);
  RegisterDataCommand(app, ctx);
  RegisterTrainCommand(app, ctx);
  RegisterOrchestratorCommands(app, ctx);
  RegisterReportCommand(app, ctx);
  RegisterRunsCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }
  return ctx.exit_code;
}
