"""areoscan.survey"""
