#include "device_monitor.h"

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

namespace isoflop::trainer {
namespace {

double NowS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Resident set size of this process, from /proc/self/status (kB -> bytes).
int64_t ReadRssBytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

// The subset of the NVML C API the monitor calls, resolved at run time.
struct DeviceMonitor::Nvml {
  using Device = void*;
  struct Memory {
    unsigned long long total, free, used;
  };
  void* lib = nullptr;
  Device device = nullptr;
  int (*shutdown)() = nullptr;
  int (*power)(Device, unsigned*) = nullptr;
  int (*energy)(Device, unsigned long long*) = nullptr;
  int (*memory)(Device, Memory*) = nullptr;
  std::string name;

  ~Nvml() {
    if (shutdown) shutdown();
    if (lib) dlclose(lib);
  }

  static std::unique_ptr<Nvml> Open(int index) {
    auto n = std::make_unique<Nvml>();
    n->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!n->lib) return nullptr;
    auto init = reinterpret_cast<int (*)()>(dlsym(n->lib, "nvmlInit_v2"));
    auto by_index =
        reinterpret_cast<int (*)(unsigned, Device*)>(dlsym(n->lib, "nvmlDeviceGetHandleByIndex_v2"));
    auto get_name = reinterpret_cast<int (*)(Device, char*, unsigned)>(dlsym(n->lib, "nvmlDeviceGetName"));
    n->shutdown = reinterpret_cast<int (*)()>(dlsym(n->lib, "nvmlShutdown"));
    n->power = reinterpret_cast<int (*)(Device, unsigned*)>(dlsym(n->lib, "nvmlDeviceGetPowerUsage"));
    n->energy = reinterpret_cast<int (*)(Device, unsigned long long*)>(
        dlsym(n->lib, "nvmlDeviceGetTotalEnergyConsumption"));
    n->memory = reinterpret_cast<int (*)(Device, Memory*)>(dlsym(n->lib, "nvmlDeviceGetMemoryInfo"));
    if (!init || !by_index || !n->power || init() != 0) {
      n->shutdown = nullptr;
      return nullptr;
    }
    if (by_index(static_cast<unsigned>(index), &n->device) != 0) return nullptr;
    char buf[96] = {0};
    if (get_name && get_name(n->device, buf, sizeof buf) == 0) n->name = buf;
    return n;
  }
};

DeviceMonitor::DeviceMonitor(int cuda_index) {
  if (cuda_index >= 0) nvml_ = Nvml::Open(cuda_index);
}

DeviceMonitor::~DeviceMonitor() = default;

bool DeviceMonitor::has_power() const {
  return nvml_ != nullptr;
}

std::string DeviceMonitor::device_name() const {
  return nvml_ ? nvml_->name : "cpu";
}

void DeviceMonitor::Sample() {
  const double now = NowS();
  if (nvml_) {
    unsigned mw = 0;
    if (nvml_->power(nvml_->device, &mw) == 0) {
      const double p = mw / 1000.0;
      // Trapezoid rule between samples; replaced by the hardware counter when it exists.
      if (last_time_s_ >= 0) energy_j_ += 0.5 * (p + power_w_) * (now - last_time_s_);
      power_w_ = p;
    }
    unsigned long long mj = 0;
    if (nvml_->energy && nvml_->energy(nvml_->device, &mj) == 0) {
      if (first_counter_mj_ < 0) first_counter_mj_ = static_cast<double>(mj);
      energy_j_ = (static_cast<double>(mj) - first_counter_mj_) / 1000.0;
    }
    Nvml::Memory m{};
    if (nvml_->memory && nvml_->memory(nvml_->device, &m) == 0) current_mem_ = static_cast<int64_t>(m.used);
  } else {
    current_mem_ = ReadRssBytes();
  }
  last_time_s_ = now;
  peak_mem_ = std::max(peak_mem_, current_mem_);
  mem_sum_ += static_cast<double>(current_mem_);
  ++samples_;
}

double DeviceMonitor::DatasheetPeakFlops(const std::string& name) {
  // Dense bf16 tensor-core peaks from the vendor datasheets (no sparsity).
  if (name.find("H100") != std::string::npos || name.find("H200") != std::string::npos) {
    return name.find("PCIe") != std::string::npos ? 756e12 : 989.4e12;
  }
  if (name.find("A100") != std::string::npos) return 312e12;
  if (name.find("L40S") != std::string::npos) return 362e12;
  if (name.find("A10") != std::string::npos) return 125e12;
  return 0;
}

}  // namespace isoflop::trainer
