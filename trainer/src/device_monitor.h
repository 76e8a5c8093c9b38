// Power, energy and memory readings for metrics.jsonl.
//
// On GPU, NVML (libnvidia-ml.so.1) is opened with dlopen so that the trainer builds and
// runs where the library is absent; on CPU, memory is the process's resident set from
// /proc/self/status and power is not measured.
#ifndef ISOFLOP_TRAINER_DEVICE_MONITOR_H_
#define ISOFLOP_TRAINER_DEVICE_MONITOR_H_

#include <cstdint>
#include <memory>
#include <string>

namespace isoflop::trainer {

class DeviceMonitor {
 public:
  // `cuda_index` < 0: CPU process monitor.
  explicit DeviceMonitor(int cuda_index);
  ~DeviceMonitor();
  DeviceMonitor(const DeviceMonitor&) = delete;
  DeviceMonitor& operator=(const DeviceMonitor&) = delete;

  bool has_power() const;
  std::string device_name() const;  // NVML's name, or "cpu"

  // Samples power and memory now; energy integrates power over time (trapezoid rule
  // between samples) unless NVML's total-energy counter is available, which is preferred.
  void Sample();

  double power_w() const { return power_w_; }
  double energy_kwh() const { return energy_j_ / 3.6e6; }
  int64_t current_mem_bytes() const { return current_mem_; }
  int64_t peak_mem_bytes() const { return peak_mem_; }
  int64_t mean_mem_bytes() const { return samples_ ? static_cast<int64_t>(mem_sum_ / samples_) : 0; }

  // Datasheet dense bf16 peak for a known GPU name, else 0.
  static double DatasheetPeakFlops(const std::string& device_name);

 private:
  struct Nvml;
  std::unique_ptr<Nvml> nvml_;
  double power_w_ = 0;
  double energy_j_ = 0;
  double last_time_s_ = -1;
  double first_counter_mj_ = -1;
  int64_t current_mem_ = 0;
  int64_t peak_mem_ = 0;
  double mem_sum_ = 0;
  int64_t samples_ = 0;
};

}  // namespace isoflop::trainer

#endif  // ISOFLOP_TRAINER_DEVICE_MONITOR_H_
