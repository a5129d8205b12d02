include $(sort $(wildcard $(BR2_EXTERNAL_ALCHEMIST_PATH)/package/*/*.mk))
