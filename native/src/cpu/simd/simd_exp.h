// Cephes-style expf polynomial shared by the vector ISAs (max rel. error ≈ 2e-7).
// Inputs below -88.37 (and -inf) give exactly 0 through a zero exponent field.
#pragma once
namespace kvp_exp {
constexpr float hi = 88.3762626647949f, lo = -88.3762626647949f;
constexpr float log2e = 1.44269504088896341f, c1 = 0.693359375f, c2 = -2.12194440e-4f;
constexpr float p0 = 1.9875691500e-4f, p1 = 1.3981999507e-3f, p2 = 8.3334519073e-3f;
constexpr float p3 = 4.1665795894e-2f, p4 = 1.6666665459e-1f, p5 = 5.0000001201e-1f;
}  // namespace kvp_exp
