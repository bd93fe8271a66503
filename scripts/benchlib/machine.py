"""What the run was measured on: cores, CPU model, memory, kernel, OS."""

import os
import platform


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def describe():
    """A dict describing this machine."""
    cpu = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    osname = ""
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            osname = line.split("=", 1)[1].strip('"')
    return {
        "cores": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_bytes": mem,
        "kernel": platform.release(),
        "os": osname,
        "python": platform.python_version(),
    }
