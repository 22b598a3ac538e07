#pragma once
// HttpTransport over libcurl (loaded at run time: see loadCurl), with the TLS settings of [Fleet]:
// a CA to trust (TrustedCA=) and a client certificate and key (ClientCertificate=, ClientKey=),
// read under --root.
#include <chrono>
#include <string>

#include "coordinator.hpp"
#include "fsutil.hpp"

namespace kexecd {

class CurlTransport final : public HttpTransport {
  public:
    CurlTransport(const Root& root, const FleetConfig& config,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
    HttpResponse post(const std::string& url, const std::string& body,
                      const std::vector<std::string>& headers) override;

  private:
    std::string ca_, cert_, key_;
    std::chrono::milliseconds timeout_;
};

// Loads libcurl (dlopen) and runs curl_global_init, once: call from main()
// before any thread starts, when a coordinator is configured. Throws Error
// when libcurl is missing. CurlTransport loads it too, where nobody did.
void loadCurl();

}  // namespace kexecd
