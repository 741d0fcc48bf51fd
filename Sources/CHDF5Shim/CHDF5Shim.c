#include "CHDF5Shim.h"

hid_t sk_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
hid_t sk_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
hid_t sk_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
hid_t sk_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
hid_t sk_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
hid_t sk_h5t_c_s1(void) { return H5T_C_S1; }
hid_t sk_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
hid_t sk_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
hid_t sk_h5t_std_i32le(void) { return H5T_STD_I32LE; }
hid_t sk_h5t_std_i64le(void) { return H5T_STD_I64LE; }
size_t sk_h5t_variable(void) { return H5T_VARIABLE; }

hid_t sk_h5p_default(void) { return H5P_DEFAULT; }
hid_t sk_h5p_file_create(void) { return H5P_FILE_CREATE; }
hid_t sk_h5p_file_access(void) { return H5P_FILE_ACCESS; }
hid_t sk_h5p_dataset_access(void) { return H5P_DATASET_ACCESS; }
hid_t sk_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
hid_t sk_h5p_group_create(void) { return H5P_GROUP_CREATE; }
hid_t sk_h5p_link_create(void) { return H5P_LINK_CREATE; }
hid_t sk_h5s_all(void) { return H5S_ALL; }
hid_t sk_h5e_default(void) { return H5E_DEFAULT; }

unsigned sk_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
unsigned sk_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
unsigned sk_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
unsigned sk_h5f_acc_excl(void) { return H5F_ACC_EXCL; }

void sk_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
