#!/usr/bin/env bash
# deploy/package.sh [--build-dir DIR] [--out DIR] [--version V]
#
# Builds the Debian package scepgw_<version>-1_<arch>.deb with CPack's DEB
# generator from the install() rules (cmake/package.cmake; README
# "Installing the Debian package") and prints its path.
#   --build-dir DIR  package that existing, built build folder (the tests
#                    use this so nothing compiles twice); without it, a
#                    RelWithDebInfo build without tests is made in
#                    build-pkg/ first.
#   --out DIR        where the .deb goes (default: the current folder).
#   --version V      the package's upstream version instead of the build's
#                    GW_VERSION (to make an upgrade for a test); the
#                    binary still reports GW_VERSION.
# Needs cmake and dpkg-dev (dpkg-shlibdeps finds the library packages).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build='' out=$PWD version=''

usage() {
	echo "usage: deploy/package.sh [--build-dir DIR] [--out DIR] [--version V]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--build-dir) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "package.sh: unknown argument '$1'" >&2; usage ;;
	esac
done

for tool in cmake cpack dpkg dpkg-shlibdeps; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "package.sh: $tool is missing (apt-get install cmake dpkg-dev)" >&2
		exit 1
	}
done

if [ -z "$build" ]; then
	build=$src/build-pkg
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DGW_TESTS=OFF
	cmake --build "$build" -j "$(nproc)"
else
	[ -f "$build/CPackConfig.cmake" ] || {
		echo "package.sh: $build is not a configured scepgw build folder" >&2
		exit 1
	}
fi
build=$(cd "$build" && pwd)
mkdir -p "$out" "$build/package"
out=$(cd "$out" && pwd)

# cpack builds the folder first (its preinstall target): a no-op when
# it is up to date.
args=(-G DEB --config "$build/CPackConfig.cmake" -B "$build/package")
[ -z "$version" ] || args+=(-D "CPACK_PACKAGE_VERSION=$version")
(cd "$build" && cpack "${args[@]}") >"$build/package/cpack.log" 2>&1 || {
	cat "$build/package/cpack.log" >&2
	echo "package.sh: cpack failed" >&2
	exit 1
}
deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' \
    "$build/package/cpack.log" | tail -n 1)
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
	cat "$build/package/cpack.log" >&2
	echo "package.sh: cpack made no .deb" >&2
	exit 1
fi
mv -f "$deb" "$out/"
echo "$out/${deb##*/}"
