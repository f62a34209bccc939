// The platform package (and .node suffix) the napi-rs loader picks on this machine: linux-x64-gnu,
// darwin-arm64, win32-x64-msvc, ...
export function hostTarget() {
  const { platform, arch } = process
  if (platform === 'linux') {
    return `linux-${arch}-${process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'}`
  }
  return platform === 'win32' ? `win32-${arch}-msvc` : `${platform}-${arch}`
}
