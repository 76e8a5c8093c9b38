// Placeholder until the component lands: the subcommand exists and says so.
#include "commands.h"

namespace isoflop::cli {

void RegisterBenchCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("bench", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([&ctx] {
    ctx.exit_code = ReportError("bench", Status::FailedPrecondition("this subcommand has not landed yet"));
  });
}

}  // namespace isoflop::cli
