// Placeholder until the component lands: the subcommand exists and says so.
#include "commands.h"

namespace isoflop::cli {

void RegisterReportCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("report", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([&ctx] {
    ctx.exit_code = ReportError("report", Status::FailedPrecondition("this subcommand has not landed yet"));
  });
}

}  // namespace isoflop::cli
