/* bcryptprimitives.dll for Wine 8.0, which lacks it: Rust's std (1.78 and later) imports
 * ProcessPrng from it at start-up, so without this DLL a Rust exe exits with status 53 before
 * main. ProcessPrng fills a buffer with random bytes and always returns TRUE (Learn: "ProcessPrng
 * function"); RtlGenRandom (advapi32's SystemFunction036) does the same job and Wine has it.
 * Built by `cargo xtask setup` with x86_64-w64-mingw32-gcc (shared/toolchain.md). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
