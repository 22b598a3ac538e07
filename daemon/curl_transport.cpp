#include "curl_transport.hpp"

#include <curl/curl.h>

#include <memory>

#include "error.hpp"

namespace kexecd {

namespace {

// Answers are small JSON objects; anything bigger is not from etcd.
constexpr size_t kMaxBody = 4 << 20;

size_t onData(char* ptr, size_t size, size_t n, void* user) {
    auto* out = static_cast<std::string*>(user);
    if (out->size() + size * n > kMaxBody) return 0;  // curl fails with CURLE_WRITE_ERROR
    out->append(ptr, size * n);
    return size * n;
}

std::string underRoot(const Root& root, const std::string& p) {
    return p.empty() ? "" : root.path(p).string();
}

}  // namespace

void initCurl() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

CurlTransport::CurlTransport(const Root& root, const FleetConfig& c,
                             std::chrono::milliseconds timeout)
    : ca_(underRoot(root, c.trustedCA)),
      cert_(underRoot(root, c.clientCertificate)),
      key_(underRoot(root, c.clientKey)),
      timeout_(timeout) {}

HttpResponse CurlTransport::post(const std::string& url, const std::string& body,
                                 const std::vector<std::string>& headers) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), curl_easy_cleanup);
    if (!h) throw Error(ErrorCode::CoordinatorUnavailable, "cannot set up libcurl");
    curl_slist* list = nullptr;
    for (auto& hd : headers) list = curl_slist_append(list, hd.c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hl(list, curl_slist_free_all);
    HttpResponse r;
    char err[CURL_ERROR_SIZE] = "";
    CURL* c = h.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    // Only what the configuration names: no redirects to elsewhere, no
    // file:// or other protocols.
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count() / 2));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onData);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    if (!ca_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_.c_str());
    if (!cert_.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, cert_.c_str());
    if (!key_.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, key_.c_str());
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        throw Error(ErrorCode::CoordinatorUnavailable,
                    url + ": " + (err[0] ? std::string(err) : curl_easy_strerror(rc)));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
}

}  // namespace kexecd
