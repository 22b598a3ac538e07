#pragma once
// Who may reboot now: a slot in the group's reboot semaphore, held from
// before the reboot until the node is up again. Two backends: etcd (airlock's
// semaphore, kept by kexecd itself with compare-and-swap) and a FleetLock
// server (Zincati's protocol). Both speak HTTP through an injected
// transport, so the logic is tested without a network.
//
// Errors: Error(CoordinatorUnavailable) when no endpoint answers or one
// answers nonsense. "No slot free" is an answer, not an error.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "airlock_semaphore.hpp"
#include "fleet_config.hpp"

namespace kexecd {

struct HttpResponse {
    long status = 0;
    std::string body;
};

class HttpTransport {
  public:
    virtual ~HttpTransport() = default;
    // POSTs `body` (JSON) to `url` with the extra `headers` ("Name: value").
    // Throws Error(CoordinatorUnavailable) when no answer came (refused,
    // timed out, TLS failed); any HTTP status is an answer.
    virtual HttpResponse post(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers) = 0;
};

struct TakeResult {
    bool taken = false;
    // Why not, for the status line: "2/2 held by a, b", or the FleetLock
    // server's own words.
    std::string why;
};

class Coordinator {
  public:
    virtual ~Coordinator() = default;
    // Takes a slot for `id`; holding one already counts as taken.
    virtual TakeResult take(const std::string& id) = 0;
    // Gives `id`'s slot back; false when it held none (etcd) — FleetLock
    // cannot tell and says true.
    virtual bool release(const std::string& id) = 0;
    // The group's semaphore; nullopt when the backend does not show it
    // (FleetLock) or it was never created.
    virtual std::optional<Semaphore> semaphore() = 0;
};

// The backend `config` names; nullptr for Coordinator=none.
std::unique_ptr<Coordinator> makeCoordinator(const FleetConfig& config,
                                             std::shared_ptr<HttpTransport> transport);

// How many times a compare-and-swap that lost a race is tried again at once
// before take() reports "busy" and the caller backs off.
constexpr int kCasAttempts = 16;

}  // namespace kexecd
