/* A stand-in for Windows' bcryptprimitives.dll in a Wine prefix, for Debian's Wine 8.0.
 * Rust programs (1.78 and later) import ProcessPrng from it for random numbers; Wine added it
 * only in 8.13. This forwards to advapi32's SystemFunction036 (RtlGenRandom), which Wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
