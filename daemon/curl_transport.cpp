#include "curl_transport.hpp"

#include <curl/curl.h>

#include <memory>

#include "dynlib.hpp"
#include "error.hpp"

namespace kexecd {

namespace {

// Answers are small JSON objects; anything bigger is not from etcd.
constexpr size_t kMaxBody = 4 << 20;

// libcurl is loaded only when a [Fleet] coordinator is configured, as
// systemd dlopen()s its optional libraries: linked in, it would map some
// thirty libraries (TLS, Kerberos, LDAP, SSH) into every kexecd, for a
// feature most machines never turn on.
constexpr const char* kLibcurl = "libcurl.so.4";

struct CurlApi {
    decltype(&curl_global_init) global_init;
    decltype(&curl_easy_init) easy_init;
    decltype(&curl_easy_cleanup) easy_cleanup;
    decltype(&curl_easy_setopt) easy_setopt;
    decltype(&curl_easy_perform) easy_perform;
    decltype(&curl_easy_getinfo) easy_getinfo;
    decltype(&curl_easy_strerror) easy_strerror;
    decltype(&curl_slist_append) slist_append;
    decltype(&curl_slist_free_all) slist_free_all;
};

// Loaded once (dynlib.hpp); a failure is thrown again to every caller.
const CurlApi& curl() {
    static DynLib lib(kLibcurl);
    static CurlApi api{};
    const std::string& error = lib.load([](DynLib& l) {
        l.sym("curl_global_init", &api.global_init);
        l.sym("curl_easy_init", &api.easy_init);
        l.sym("curl_easy_cleanup", &api.easy_cleanup);
        l.sym("curl_easy_setopt", &api.easy_setopt);
        l.sym("curl_easy_perform", &api.easy_perform);
        l.sym("curl_easy_getinfo", &api.easy_getinfo);
        l.sym("curl_easy_strerror", &api.easy_strerror);
        l.sym("curl_slist_append", &api.slist_append);
        l.sym("curl_slist_free_all", &api.slist_free_all);
        if (api.global_init && api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            l.fail("libcurl failed to initialise");
    });
    if (!error.empty())
        throw Error(ErrorCode::Failed, "[Fleet] Coordinator= needs libcurl: " + error +
                                           "; install it (Debian: libcurl4, Fedora: libcurl)");
    return api;
}

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

void loadCurl() {
    curl();
}

CurlTransport::CurlTransport(const Root& root, const FleetConfig& c,
                             std::chrono::milliseconds timeout)
    : ca_(underRoot(root, c.trustedCA)),
      cert_(underRoot(root, c.clientCertificate)),
      key_(underRoot(root, c.clientKey)),
      timeout_(timeout) {
    curl();
}

HttpResponse CurlTransport::post(const std::string& url, const std::string& body,
                                 const std::vector<std::string>& headers) {
    const CurlApi& api = curl();
    std::unique_ptr<CURL, decltype(api.easy_cleanup)> h(api.easy_init(), api.easy_cleanup);
    if (!h) throw Error(ErrorCode::CoordinatorUnavailable, "cannot set up libcurl");
    curl_slist* list = nullptr;
    for (auto& hd : headers) list = api.slist_append(list, hd.c_str());
    std::unique_ptr<curl_slist, decltype(api.slist_free_all)> hl(list, api.slist_free_all);
    HttpResponse r;
    char err[CURL_ERROR_SIZE] = "";
    CURL* c = h.get();
    auto set = api.easy_setopt;
    set(c, CURLOPT_URL, url.c_str());
    // Only what the configuration names: no redirects to elsewhere, no
    // file:// or other protocols.
    set(c, CURLOPT_PROTOCOLS_STR, "http,https");
    set(c, CURLOPT_NOSIGNAL, 1L);
    set(c, CURLOPT_POST, 1L);
    set(c, CURLOPT_POSTFIELDS, body.c_str());
    set(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    set(c, CURLOPT_HTTPHEADER, list);
    set(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    set(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count() / 2));
    set(c, CURLOPT_WRITEFUNCTION, onData);
    set(c, CURLOPT_WRITEDATA, &r.body);
    set(c, CURLOPT_ERRORBUFFER, err);
    if (!ca_.empty()) set(c, CURLOPT_CAINFO, ca_.c_str());
    if (!cert_.empty()) set(c, CURLOPT_SSLCERT, cert_.c_str());
    if (!key_.empty()) set(c, CURLOPT_SSLKEY, key_.c_str());
    CURLcode rc = api.easy_perform(c);
    if (rc != CURLE_OK)
        throw Error(ErrorCode::CoordinatorUnavailable,
                    url + ": " + (err[0] ? std::string(err) : api.easy_strerror(rc)));
    api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
}

}  // namespace kexecd
