#!/usr/bin/env bash
# Checks that a PE image is a plausible Windows kernel driver (.sys), using
# the mingw-w64 binutils only (no Windows needed). Run by the CI stage
# "windows" on the example driver of each kernel toolchain; see docs/windows.md.
#
# Usage: tests/windows/check-sys.sh [--arch x86_64|i686] [--imports "A B ..."] IMAGE
#   --arch      require this architecture (default: accept either, report it)
#   --imports   routines the image must import ("" for none), replacing the
#               default list:
#               IoWMIRegistrationControl IoWMIWriteEvent (ntoskrnl.exe),
#               WmiSystemControl WmiFireEvent WmiCompleteRequest (WMILIB.SYS),
#               and on x86_64 IoWMIDeviceObjectToProviderId (a macro on x86)
#   OBJDUMP / NM / LD in the environment override the tools (default: the
#   x86_64-w64-mingw32 ones, which read both PE32 and PE32+; else i686).
#
# Verified, each failure reported with its reason, exit status 1 if any:
#   1. file format pei-x86-64 with PE32+ magic (020b), or pei-i386 with PE32
#      magic (010b); an executable image
#   2. Subsystem 00000001 (native)
#   3. the entry point is DriverEntry (x86_64) / _DriverEntry@8 (i686)
#   4. base relocations present (the kernel loads drivers at any address),
#      a PE checksum that matches the file (GNU ld 2.40 computes it; Windows
#      requires one in drivers), no TLS directory (drivers cannot have TLS)
#   5. imports only from ntoskrnl.exe, WMILIB.SYS and HAL.dll (names compared
#      case-insensitively): in particular no kernel32, ntdll, msvcrt, ucrt
#      (api-ms-win-crt-*), vcruntime or user32
#   6. every required routine is imported, from the right module
#   7. the symbol table has no undefined symbol (nm -u), apart from section
#      symbols of import stubs and the bookkeeping symbols that ld's default
#      PE linker script assigns (__end__, __bss_start__, ___crt_xc_start__, ...,
#      read from `ld --verbose`)
set -euo pipefail

usage() {
  sed -n '/^# Usage:/,/^#   x86_64-w64-mingw32 ones/s/^# \{0,1\}//p' "$0"
}

want_arch=""
imports_given=0
imports_override=""
image=""
while (($# > 0)); do
  case "$1" in
    --arch)
      want_arch="${2:-}"
      shift 2 || { usage >&2; exit 2; }
      ;;
    --imports)
      imports_given=1
      imports_override="${2-}"
      shift 2 || { usage >&2; exit 2; }
      ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "check-sys: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *)
      [[ -z "$image" ]] || { echo "check-sys: one image at a time" >&2; exit 2; }
      image="$1"
      shift
      ;;
  esac
done
if [[ -z "$image" ]]; then
  usage >&2
  exit 2
fi
case "$want_arch" in
  "" | x86_64 | i686) ;;
  *) echo "check-sys: --arch must be x86_64 or i686 (got '$want_arch')" >&2; exit 2 ;;
esac
if [[ ! -f "$image" ]]; then
  echo "check-sys: FAIL: $image: no such file" >&2
  exit 1
fi

pick_tool() { # pick_tool <env value> <tool suffix>
  if [[ -n "$1" ]]; then
    echo "$1"
  elif command -v "x86_64-w64-mingw32-$2" >/dev/null; then
    echo "x86_64-w64-mingw32-$2"
  elif command -v "i686-w64-mingw32-$2" >/dev/null; then
    echo "i686-w64-mingw32-$2"
  else
    echo "check-sys: neither x86_64- nor i686-w64-mingw32-$2 found (scripts/install-deps.sh --with-mingw)" >&2
    exit 2
  fi
}
objdump="$(pick_tool "${OBJDUMP:-}" objdump)"
nm="$(pick_tool "${NM:-}" nm)"

# Symbols that ld's default PE linker scripts assign (__end__, __bss_start__,
# ___crt_xc_start__, ___tls_start__, ...): nm -u lists those the image has no
# section for. LD (a list) overrides the linkers asked.
linker_script_symbols() {
  local ld
  for ld in ${LD:-x86_64-w64-mingw32-ld i686-w64-mingw32-ld}; do
    command -v "$ld" >/dev/null || continue
    "$ld" --verbose | grep -oE '(PROVIDE *\()? *_+[A-Za-z0-9_]+ *=' | sed 's/PROVIDE *(//; s/[ =]//g'
  done | sort -u
}

failures=()
fail() {
  failures+=("$*")
}

if ! headers="$("$objdump" -p "$image" 2>&1)"; then
  echo "check-sys: FAIL: $image: $objdump cannot read it as a PE image:" >&2
  printf '  %s\n' "$headers" >&2
  exit 1
fi

# Value of a "Name<tabs>value" line of objdump -p.
field() {
  awk -v key="$1" '$1 == key { print $2; exit }' <<<"$headers"
}

# ---- 1. format, magic, characteristics ------------------------------------
format="$(sed -n 's/^.*file format \(.*\)$/\1/p' <<<"$headers" | head -n 1)"
magic="$(field Magic)"
case "$format" in
  pei-x86-64) arch=x86_64 want_magic=020b entry_symbol=DriverEntry ;;
  pei-i386) arch=i686 want_magic=010b entry_symbol=_DriverEntry@8 ;;
  *) arch="" ;;
esac
if [[ -z "$arch" ]]; then
  fail "file format is '${format:-unknown}', not pei-x86-64 or pei-i386"
else
  if [[ -n "$want_arch" && "$arch" != "$want_arch" ]]; then
    fail "architecture is $arch ($format), $want_arch was required"
  fi
  if [[ "$magic" != "$want_magic" ]]; then
    fail "optional header magic is '${magic:-missing}', $format needs $want_magic"
  fi
fi
characteristics="$(field Characteristics)"
if [[ -z "$characteristics" ]] || ((((16#${characteristics#0x}) & 0x2) == 0)); then
  fail "Characteristics ${characteristics:-missing} do not mark an executable image"
fi

# ---- 2. subsystem -----------------------------------------------------------
subsystem="$(field Subsystem)"
if [[ "$subsystem" != "00000001" ]]; then
  fail "Subsystem is '${subsystem:-missing}' $(awk '$1 == "Subsystem" { $1 = ""; $2 = ""; print; exit }' <<<"$headers" | sed 's/^ *//'), a driver needs 00000001 (native)"
fi

# ---- 3./7. symbols: entry point and undefined symbols ----------------------
if ! symbols="$("$nm" "$image" 2>&1)" || [[ -z "$symbols" ]] || grep -q 'no symbols' <<<"$symbols"; then
  fail "no symbol table (stripped image?): the entry point and undefined symbols cannot be checked; check the unstripped image"
else
  if [[ -n "$arch" ]]; then
    entry_rva="$(field AddressOfEntryPoint)"
    image_base="$(field ImageBase)"
    entry_addr="$(awk -v s="$entry_symbol" '$3 == s && $2 ~ /^[Tt]$/ { print $1; exit }' <<<"$symbols")"
    if [[ -z "$entry_addr" ]]; then
      fail "no $entry_symbol defined in the image"
    elif [[ -z "$entry_rva" || -z "$image_base" ]] ||
      (((16#$image_base) + (16#$entry_rva) != (16#$entry_addr))); then
      fail "AddressOfEntryPoint ${entry_rva:-missing} (ImageBase ${image_base:-missing}) is not $entry_symbol at $entry_addr"
    fi
  fi
  # Section symbols (".text") come from the import stubs; the rest of ld's
  # bookkeeping symbols are the ones its default PE linker script assigns.
  bookkeeping="$(linker_script_symbols)"
  undefined="$(awk '$1 == "U" && $2 !~ /^\./ { print $2 }' <<<"$symbols" |
    grep -vxF -e "${bookkeeping:-.}" || true)"
  if [[ -n "$undefined" ]]; then
    fail "undefined symbols: $(tr '\n' ' ' <<<"$undefined")"
  fi
fi

# ---- 4. relocations, checksum, TLS -----------------------------------------
# "Entry 5 <rva> <size> Base Relocation Directory", sizes in hex.
directory_size() {
  awk -v n="$1" '$1 == "Entry" && $2 == n { print $4; exit }' <<<"$headers"
}
reloc_size="$(directory_size 5)"
if [[ -z "$reloc_size" ]] || ((16#$reloc_size == 0)); then
  fail "no base relocations: the kernel relocates every driver (link with --dynamicbase)"
fi
# The PE checksum: 16-bit one's-complement-style sum of the file's words
# with the CheckSum field counted as 0, folded to 16 bits, plus the file size.
pe_checksum() {
  local pe_offset
  pe_offset="$(od --endian=little -An -tu4 -j60 -N4 "$image" | tr -d ' ')"
  od --endian=little -An -v -tu2 -w2 "$image" |
    awk -v at="$((pe_offset + 24 + 64))" -v size="$(stat -c %s "$image")" '
      {
        offset = (NR - 1) * 2
        if (offset != at && offset != at + 2) {
          sum += $1
          sum = sum % 65536 + int(sum / 65536)
        }
      }
      END { printf "%08x\n", (sum % 65536 + int(sum / 65536)) + size }'
}
checksum="$(field CheckSum)"
if [[ -z "$checksum" ]] || ((16#$checksum == 0)); then
  fail "PE checksum is 0: Windows requires a checksum in driver images"
elif [[ "$(pe_checksum)" != "$checksum" ]]; then
  fail "PE checksum $checksum does not match the image ($(pe_checksum)): modified after linking?"
fi
tls_size="$(directory_size 9)"
if [[ -n "$tls_size" ]] && ((16#$tls_size != 0)); then
  fail "the image has a TLS directory: kernel drivers cannot use thread-local storage"
fi

# ---- 5./6. imports ------------------------------------------------------------
# objdump -p lists each import descriptor as "DLL Name: X" followed by
# "<hint-rva> <hint> <name>" lines; turn that into "dll<TAB>routine" lines.
imports="$(awk '
  /^\tDLL Name: / { dll = $3; print dll "\t"; next }
  /^\t[0-9a-f]+\t +[0-9]+ +[^ ]+$/ && dll != "" { print dll "\t" $3; next }
  /^$/ { dll = "" }
' <<<"$headers")"
dlls="$(cut -f1 <<<"$imports" | sort -uf | sed '/^$/d')"
if [[ -z "$dlls" ]]; then
  fail "no imports at all: a driver that does anything imports ntoskrnl.exe"
fi
while IFS= read -r dll; do
  [[ -n "$dll" ]] || continue
  lower="${dll,,}"
  case "$lower" in
    ntoskrnl.exe | wmilib.sys | hal.dll) ;;
    kernel32.dll | kernelbase.dll | ntdll.dll | msvcrt.dll | ucrtbase.dll | ucrtbased.dll | \
      api-ms-win-* | vcruntime*.dll | user32.dll | advapi32.dll | libgcc*.dll | libwinpthread*.dll)
      fail "imports the user-mode DLL $dll: only ntoskrnl.exe, WMILIB.SYS and HAL.dll are allowed"
      ;;
    *) fail "imports $dll: only ntoskrnl.exe, WMILIB.SYS and HAL.dll are allowed" ;;
  esac
done <<<"$dlls"

if ((imports_given)); then
  required=()
  read -r -a required <<<"${imports_override//,/ }" || true
  required_pairs=()
  for name in "${required[@]+"${required[@]}"}"; do
    required_pairs+=("*:$name")
  done
else
  required_pairs=(
    ntoskrnl.exe:IoWMIRegistrationControl
    ntoskrnl.exe:IoWMIWriteEvent
    wmilib.sys:WmiSystemControl
    wmilib.sys:WmiFireEvent
    wmilib.sys:WmiCompleteRequest
  )
  if [[ "$arch" == x86_64 ]]; then
    required_pairs+=(ntoskrnl.exe:IoWMIDeviceObjectToProviderId)
  fi
fi
for pair in "${required_pairs[@]+"${required_pairs[@]}"}"; do
  want_dll="${pair%%:*}" name="${pair#*:}"
  from="$(awk -F'\t' -v n="$name" '$2 == n { print $1 }' <<<"$imports" | head -n 1)"
  if [[ -z "$from" ]]; then
    fail "does not import $name"
  elif [[ "$want_dll" != "*" && "${from,,}" != "$want_dll" ]]; then
    fail "imports $name from $from, expected $want_dll"
  fi
done

# ---- report -------------------------------------------------------------------
import_count="$(awk -F'\t' '$2 != ""' <<<"$imports" | wc -l)"
if ((${#failures[@]} != 0)); then
  echo "check-sys: FAIL: $image (${format:-unknown format}):" >&2
  for f in "${failures[@]}"; do
    echo "  - $f" >&2
  done
  exit 1
fi
echo "check-sys: OK: $image: $format, native subsystem, entry $entry_symbol," \
  "$import_count imports from $(tr '\n' ' ' <<<"$dlls" | sed 's/ $//; s/ /, /g')"
