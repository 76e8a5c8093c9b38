// Placeholder until the component lands: the subcommand exists and says so.
#include "commands.h"

namespace isoflop::cli {

void RegisterDataCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("data", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([&ctx] {
    ctx.exit_code = ReportError("data", Status::FailedPrecondition("this subcommand has not landed yet"));
  });
}

}  // namespace isoflop::cli
