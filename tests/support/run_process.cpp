#include "tests/support/run_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace ascent::test {

RunResult run_ascent(const std::vector<std::string>& args, const RunOptions& opt) {
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err)) return {};
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
        for (const auto& [k, v] : opt.env) setenv(k.c_str(), v.c_str(), 1);
        if (opt.only_cpus > 0) {  // the first of the CPUs we may use, as taskset -c would
            cpu_set_t ours, theirs;
            CPU_ZERO(&theirs);
            if (sched_getaffinity(0, sizeof ours, &ours) != 0) _exit(126);
            for (int c = 0, n = 0; c < CPU_SETSIZE && n < opt.only_cpus; ++c)
                if (CPU_ISSET(c, &ours)) {
                    CPU_SET(c, &theirs);
                    ++n;
                }
            if (sched_setaffinity(0, sizeof theirs, &theirs) != 0) _exit(126);
        }
        std::vector<char*> argv;
        std::string bin = ASCENT_BINARY;
        argv.push_back(bin.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    signal(SIGPIPE, SIG_IGN);
    RunResult r;
    size_t written = 0;
    if (opt.stdin_data.empty()) {
        close(in[1]);
        in[1] = -1;
    } else {
        fcntl(in[1], F_SETFL, O_NONBLOCK);
    }
    bool sent_sigint = false;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::milliseconds(opt.timeout_ms);
    while (out[0] >= 0 || err[0] >= 0) {
        if (opt.sigint_after_ms > 0 && !sent_sigint &&
            std::chrono::steady_clock::now() > start + std::chrono::milliseconds(opt.sigint_after_ms)) {
            kill(pid, SIGINT);
            sent_sigint = true;
        }
        std::vector<pollfd> fds;
        if (out[0] >= 0) fds.push_back({out[0], POLLIN, 0});
        if (err[0] >= 0) fds.push_back({err[0], POLLIN, 0});
        if (in[1] >= 0) fds.push_back({in[1], POLLOUT, 0});
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            r.timed_out = true;
            break;
        }
        if (poll(fds.data(), fds.size(), 100) < 0) continue;
        for (auto& p : fds) {
            if (!p.revents) continue;
            if (p.fd == in[1]) {
                ssize_t n = write(in[1], opt.stdin_data.data() + written, opt.stdin_data.size() - written);
                if (n > 0) written += static_cast<size_t>(n);
                if (n < 0 || written == opt.stdin_data.size()) {
                    close(in[1]);
                    in[1] = -1;
                }
                continue;
            }
            char buf[4096];
            ssize_t n = read(p.fd, buf, sizeof buf);
            if (n <= 0) {
                close(p.fd);
                (p.fd == out[0] ? out[0] : err[0]) = -1;
                continue;
            }
            if (p.fd == out[0]) {
                r.out.append(buf, static_cast<size_t>(n));
                if (r.out.size() >= opt.stdout_limit) {
                    r.out.resize(opt.stdout_limit);
                    close(out[0]);
                    out[0] = -1;
                }
                if (opt.sigint_after_bytes && !sent_sigint && r.out.size() >= opt.sigint_after_bytes) {
                    kill(pid, SIGINT);
                    sent_sigint = true;
                }
            } else {
                r.err.append(buf, static_cast<size_t>(n));
            }
        }
    }
    if (in[1] >= 0) close(in[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    return r;
}

}  // namespace ascent::test
