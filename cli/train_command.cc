// Placeholder until the component lands: the subcommand exists and says so.
#include "commands.h"

namespace isoflop::cli {

void RegisterTrainCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("train", "(not built yet)");
  cmd->allow_extras();
  cmd->callback([&ctx] {
    ctx.exit_code = ReportError("train", Status::FailedPrecondition("this subcommand has not landed yet"));
  });
}

}  // namespace isoflop::cli
