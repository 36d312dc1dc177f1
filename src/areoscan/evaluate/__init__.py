"""areoscan.evaluate"""
