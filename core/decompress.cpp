#include "decompress.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "bytes.hpp"
#include "dynlib.hpp"
#include "fsutil.hpp"

namespace kexecd {

namespace {

constexpr size_t kChunk = 1u << 20;

// Reads the compressed stream in chunks, never past its end.
class Input {
  public:
    Input(int fd, const CompressedKernel& c)
        : fd_(fd), off_(c.offset), left_(c.size), buf_(kChunk) {}

    // The next chunk: empty at the end; error set when the read failed.
    std::string_view next(std::string* error) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), left_));
        if (want == 0) return {};
        ssize_t n;
        do n = ::pread(fd_, buf_.data(), want, static_cast<off_t>(off_));
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            *error = "cannot read the compressed kernel: " + errnoText(errno);
            return {};
        }
        off_ += static_cast<uint64_t>(n);
        left_ = n == 0 ? 0 : left_ - static_cast<uint64_t>(n);
        return {buf_.data(), static_cast<size_t>(n)};
    }

  private:
    int fd_;
    uint64_t off_, left_;
    std::vector<char> buf_;
};

// Counts what is handed out against the limits; false: stop.
class Output {
  public:
    Output(uint64_t maxOut, std::chrono::steady_clock::time_point deadline,
           const std::function<bool(std::string_view)>& sink)
        : maxOut_(maxOut), deadline_(deadline), sink_(sink) {}

    // Returns false when decompression must stop: `done` then says whether
    // the sink had enough (no error) or `error` is set.
    bool put(std::string_view chunk, bool* done, std::string* error) {
        total_ += chunk.size();
        if (total_ > maxOut_) {
            *error =
                "the decompressed kernel is larger than " + std::to_string(maxOut_ >> 20) + " MiB";
            return false;
        }
        if (std::chrono::steady_clock::now() > deadline_) {
            *error = "decompressing the kernel took too long";
            return false;
        }
        if (!chunk.empty() && !sink_(chunk)) {
            *done = true;
            return false;
        }
        return true;
    }

  private:
    uint64_t maxOut_;
    uint64_t total_ = 0;
    std::chrono::steady_clock::time_point deadline_;
    const std::function<bool(std::string_view)>& sink_;
};

// zlib is loaded on first use (dynlib.hpp): only gzip'd kernels (arm64)
// need it (libzstd is mapped anyway: libsystemd links it).
struct ZlibApi {
    decltype(&::inflateInit2_) init2 = nullptr;
    decltype(&::inflate) inflateFn = nullptr;
    decltype(&::inflateEnd) end = nullptr;
};

// The functions, or nullptr with *why set.
const ZlibApi* zlib(std::string* why) {
    static DynLib lib("libz.so.1");
    static ZlibApi api;
    const std::string& error = lib.load([](DynLib& l) {
        l.sym("inflateInit2_", &api.init2);
        l.sym("inflate", &api.inflateFn);
        l.sym("inflateEnd", &api.end);
    });
    if (error.empty()) return &api;
    *why = "a gzip-compressed kernel needs zlib: " + error +
           "; install it (Debian: zlib1g, Fedora: zlib)";
    return nullptr;
}

std::string gunzip(Input& in, Output& out) {
    std::string why;
    const ZlibApi* z = zlib(&why);
    if (!z) return why;
    z_stream zs{};
    if (z->init2(&zs, 16 + MAX_WBITS, ZLIB_VERSION, static_cast<int>(sizeof(z_stream))) != Z_OK)
        return "cannot initialise zlib";
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, z->end);
    std::vector<unsigned char> buf(kChunk);
    std::string error;
    for (;;) {
        if (zs.avail_in == 0) {
            std::string_view chunk = in.next(&error);
            if (!error.empty()) return error;
            if (chunk.empty()) return "truncated compressed kernel";
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
            zs.avail_in = static_cast<uInt>(chunk.size());
        }
        zs.next_out = buf.data();
        zs.avail_out = static_cast<uInt>(buf.size());
        int rc = z->inflateFn(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            return "corrupt compressed kernel";
        bool done = false;
        std::string_view produced(reinterpret_cast<char*>(buf.data()), buf.size() - zs.avail_out);
        if (!out.put(produced, &done, &error)) return done ? "" : error;
        if (rc == Z_STREAM_END) return "";
    }
}

std::string unzstd(Input& in, Output& out) {
    std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!dctx) return "cannot initialise zstd";
    std::vector<char> buf(kChunk);
    std::string error;
    size_t pending = 1;  // 0 once a frame is complete
    for (;;) {
        std::string_view chunk = in.next(&error);
        if (!error.empty()) return error;
        if (chunk.empty()) return pending == 0 ? "" : "truncated compressed kernel";
        ZSTD_inBuffer zin{chunk.data(), chunk.size(), 0};
        while (zin.pos < zin.size) {
            ZSTD_outBuffer zout{buf.data(), buf.size(), 0};
            pending = ZSTD_decompressStream(dctx.get(), &zout, &zin);
            if (ZSTD_isError(pending)) return "corrupt compressed kernel";
            bool done = false;
            if (!out.put({buf.data(), zout.pos}, &done, &error)) return done ? "" : error;
        }
        // Output the decompressor still holds for this input.
        while (pending != 0) {
            ZSTD_outBuffer zout{buf.data(), buf.size(), 0};
            pending = ZSTD_decompressStream(dctx.get(), &zout, &zin);
            if (ZSTD_isError(pending)) return "corrupt compressed kernel";
            bool done = false;
            if (!out.put({buf.data(), zout.pos}, &done, &error)) return done ? "" : error;
            if (zout.pos < zout.size) break;  // needs more input
        }
    }
}

}  // namespace

CompressedKernel findCompressedKernel(std::string_view head, uint64_t fileSize) {
    CompressedKernel c;
    if (head.size() >= 3 && head.substr(0, 3) == std::string_view("\x1f\x8b\x08", 3)) {
        c.kind = Compression::Gzip;
        c.size = fileSize;
        return c;
    }
    if (head.size() < 32 || head.substr(0, 2) != "MZ" || head.substr(4, 4) != "zimg") return c;
    c.zboot = true;
    c.offset = le32(head.data() + 8);
    c.size = le32(head.data() + 12);
    std::string_view comp = head.substr(24, 8);
    comp = comp.substr(0, comp.find('\0'));
    if (comp == "gzip") {
        c.kind = Compression::Gzip;
    } else if (comp == "zstd") {
        c.kind = Compression::Zstd;
    } else {
        c.kind = Compression::Gzip;  // kept as compressed, with the error
        std::string shown;
        for (char ch : comp) shown += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
        c.error =
            "EFI zboot payload compressed with " + shown + ", only gzip and zstd are supported";
        return c;
    }
    if (c.offset > fileSize || c.size > fileSize - c.offset)
        c.error = "EFI zboot payload past the end of the file";
    return c;
}

std::string decompressKernel(int fd, const CompressedKernel& c, uint64_t maxOut,
                             std::chrono::steady_clock::time_point deadline,
                             const std::function<bool(std::string_view)>& sink) {
    if (!c.error.empty()) return c.error;
    Input in(fd, c);
    Output out(maxOut, deadline, sink);
    switch (c.kind) {
        case Compression::Gzip:
            return gunzip(in, out);
        case Compression::Zstd:
            return unzstd(in, out);
        case Compression::None:
            break;
    }
    return "not a compressed kernel";
}

}  // namespace kexecd
