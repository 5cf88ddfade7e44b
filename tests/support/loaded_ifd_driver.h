// A pcscd reader driver dlopened into a test, its IFDH* entry points resolved as pcscd
// resolves them (and the polling functions it hands out through IFDHGetCapabilities).
#pragma once

#include <dlfcn.h>

#include <array>
#include <ifdhandler.h>

namespace vscard::test {

struct LoadedIfdDriver {
    using Create = RESPONSECODE (*)(DWORD, LPSTR);
    using Close = RESPONSECODE (*)(DWORD);
    using Presence = RESPONSECODE (*)(DWORD);
    using Power = RESPONSECODE (*)(DWORD, DWORD, PUCHAR, PDWORD);
    using Transmit = RESPONSECODE (*)(DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, PDWORD,
                                      PSCARD_IO_HEADER);
    using Capabilities = RESPONSECODE (*)(DWORD, DWORD, PDWORD, PUCHAR);
    using Poll = RESPONSECODE (*)(DWORD, int);
    using StopPoll = RESPONSECODE (*)(DWORD);

    void* handle = nullptr;
    Create create = nullptr;
    Close close = nullptr;
    Presence presence = nullptr;
    Power power = nullptr;
    Transmit transmit = nullptr;
    Capabilities capabilities = nullptr;

    LoadedIfdDriver() = default;
    LoadedIfdDriver(const LoadedIfdDriver&) = delete;
    LoadedIfdDriver& operator=(const LoadedIfdDriver&) = delete;
    ~LoadedIfdDriver()
    {
        if (handle)
            dlclose(handle);
    }

    // False (dlerror() says why, when dlopen failed) unless every entry point is there.
    bool load(const char* path)
    {
        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!handle)
            return false;
        create = reinterpret_cast<Create>(dlsym(handle, "IFDHCreateChannelByName"));
        close = reinterpret_cast<Close>(dlsym(handle, "IFDHCloseChannel"));
        presence = reinterpret_cast<Presence>(dlsym(handle, "IFDHICCPresence"));
        power = reinterpret_cast<Power>(dlsym(handle, "IFDHPowerICC"));
        transmit = reinterpret_cast<Transmit>(dlsym(handle, "IFDHTransmitToICC"));
        capabilities = reinterpret_cast<Capabilities>(dlsym(handle, "IFDHGetCapabilities"));
        return create && close && presence && power && transmit && capabilities;
    }

    // The SELECT the test card answers 90 00 (a case-1 command), through lun; true when it
    // came back as exactly 90 00.
    bool selectAnswers9000(DWORD lun) const
    {
        std::array<UCHAR, 4> command = {0x00, 0xA4, 0x04, 0x00};
        std::array<UCHAR, 258> answer{};
        DWORD answerLength = answer.size();
        SCARD_IO_HEADER header{1, 0};
        return transmit(lun, header, command.data(), command.size(), answer.data(), &answerLength,
                        nullptr) == IFD_SUCCESS &&
               answerLength == 2 && answer[0] == 0x90 && answer[1] == 0x00;
    }

    // A function pointer the driver hands out for a tag (the polling functions); null if not.
    template <typename Function>
    Function function(DWORD lun, DWORD tag) const
    {
        Function found = nullptr;
        DWORD length = sizeof found;
        if (capabilities(lun, tag, &length, reinterpret_cast<PUCHAR>(&found)) != IFD_SUCCESS)
            return nullptr;
        return found;
    }
};

} // namespace vscard::test
